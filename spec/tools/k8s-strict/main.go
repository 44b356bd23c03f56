// k8s-strict reads Kubernetes manifests (a multi-document YAML stream, as `helm template`
// prints it) from the files named on the command line, or stdin, and decodes each document
// strictly into its Kubernetes API type: an unknown field, a duplicate field or a wrong type
// is an error.  It also checks that every workload's selector matches its pod template's
// labels and that every Service selects some workload's pods.
//
// Output: one line per document, `ok KIND NAME`, or `error DOC: message`; exit status 1 when
// any document failed, 2 on bad usage.  With K8S_STRICT_JSON=1 each `ok` line is followed by
// `json {...}`: the object as the API types decoded it, for specs that compare values.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

func newObject(apiVersion, kind string) (any, bool) {
	switch apiVersion + "/" + kind {
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, true
	case "apps/v1/StatefulSet":
		return &appsv1.StatefulSet{}, true
	case "batch/v1/Job":
		return &batchv1.Job{}, true
	case "v1/Service":
		return &corev1.Service{}, true
	case "v1/ServiceAccount":
		return &corev1.ServiceAccount{}, true
	case "v1/Secret":
		return &corev1.Secret{}, true
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, true
	case "v1/PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}, true
	case "rbac.authorization.k8s.io/v1/Role":
		return &rbacv1.Role{}, true
	case "rbac.authorization.k8s.io/v1/RoleBinding":
		return &rbacv1.RoleBinding{}, true
	case "networking.k8s.io/v1/NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, true
	case "policy/v1/PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, true
	}
	return nil, false
}

// splitDocuments splits a YAML stream on `---` lines.
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1024*1024), 16*1024*1024)
	flush := func() {
		if len(bytes.TrimSpace(stripComments(cur.Bytes()))) > 0 {
			docs = append(docs, append([]byte(nil), cur.Bytes()...))
		}
		cur.Reset()
	}
	for sc.Scan() {
		line := sc.Text()
		if line == "---" || strings.HasPrefix(line, "--- ") {
			flush()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	flush()
	return docs
}

func stripComments(b []byte) []byte {
	var out bytes.Buffer
	for _, l := range bytes.Split(b, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
			out.Write(l)
			out.WriteByte('\n')
		}
	}
	return out.Bytes()
}

type workload struct {
	name   string
	labels map[string]string
}

func podOf(obj any) (string, *metav1.LabelSelector, map[string]string, bool) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return o.Name, o.Spec.Selector, o.Spec.Template.Labels, true
	case *appsv1.StatefulSet:
		return o.Name, o.Spec.Selector, o.Spec.Template.Labels, true
	case *batchv1.Job:
		return o.Name, o.Spec.Selector, o.Spec.Template.Labels, true
	}
	return "", nil, nil, false
}

func main() {
	var data []byte
	if len(os.Args) < 2 {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			fmt.Fprintln(os.Stderr, "k8s-strict: cannot read stdin:", err)
			os.Exit(2)
		}
		data = b
	}
	for _, p := range os.Args[1:] {
		b, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "k8s-strict:", err)
			os.Exit(2)
		}
		data = append(append(data, b...), []byte("\n---\n")...)
	}
	failed := false
	fail := func(format string, a ...any) {
		failed = true
		fmt.Printf("error "+format+"\n", a...)
	}
	var pods []workload
	var services []*corev1.Service
	docs := splitDocuments(data)
	if len(docs) == 0 {
		fail("no documents")
	}
	for i, doc := range docs {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			fail("document %d: %v", i+1, err)
			continue
		}
		obj, ok := newObject(head.APIVersion, head.Kind)
		if !ok {
			fail("document %d: unknown kind %s %s", i+1, head.APIVersion, head.Kind)
			continue
		}
		// Unknown and duplicate fields are errors here, as with `kubectl apply --validate=strict`.
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			fail("document %d (%s): %v", i+1, head.Kind, err)
			continue
		}
		name := obj.(metav1.Object).GetName()
		if name == "" {
			fail("document %d (%s): no metadata.name", i+1, head.Kind)
			continue
		}
		if wname, sel, tmpl, isWorkload := podOf(obj); isWorkload {
			if sel == nil {
				if head.Kind != "Job" {
					fail("%s %s: no selector", head.Kind, wname)
					continue
				}
			} else {
				s, err := metav1.LabelSelectorAsSelector(sel)
				if err != nil {
					fail("%s %s: bad selector: %v", head.Kind, wname, err)
					continue
				}
				if s.Empty() || !s.Matches(labels.Set(tmpl)) {
					fail("%s %s: selector %s does not match template labels %v", head.Kind, wname, s, tmpl)
					continue
				}
			}
			pods = append(pods, workload{head.Kind + " " + wname, tmpl})
		}
		if svc, isSvc := obj.(*corev1.Service); isSvc {
			services = append(services, svc)
		}
		fmt.Printf("ok %s %s\n", head.Kind, name)
		if os.Getenv("K8S_STRICT_JSON") == "1" {
			j, err := json.Marshal(obj)
			if err != nil {
				fail("%s %s: cannot encode: %v", head.Kind, name, err)
				continue
			}
			fmt.Printf("json %s\n", j)
		}
	}
	for _, svc := range services {
		if len(svc.Spec.Selector) == 0 {
			continue
		}
		sel := labels.SelectorFromSet(svc.Spec.Selector)
		var hits []string
		for _, p := range pods {
			if sel.Matches(labels.Set(p.labels)) {
				hits = append(hits, p.name)
			}
		}
		sort.Strings(hits)
		if len(hits) == 0 {
			fail("Service %s: selector %s matches no workload", svc.Name, sel)
		}
	}
	if failed {
		os.Exit(1)
	}
}
