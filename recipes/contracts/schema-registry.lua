-- confluentinc/cp-schema-registry:7.9.0 — confluentinc/schema-registry-images
-- schema-registry/Dockerfile.ubi8 and include/etc/confluent/docker/* at tag
-- v7.9.0 (018e301e7c, "Set Confluent to 7.9.0, Kafka to 7.9.0."), FROM
-- confluentinc/cp-base-new built from confluentinc/common-docker
-- base/Dockerfile.ubi8 at tag v7.9.0 (08889d9aee).  The v7.9.0-N tags in the
-- repo are later build numbers of the same release line.
local T = "confluentinc/schema-registry-images %s @ v7.9.0 (018e301e7c)"
local D = T:format("schema-registry/Dockerfile.ubi8")
local DIR = "schema-registry/include/etc/confluent/docker/"
local R, C, EN, L = T:format(DIR .. "run"), T:format(DIR .. "configure"), T:format(DIR .. "ensure"), T:format(DIR .. "launch")
local P = T:format(DIR .. "schema-registry.properties.template")
local B = "confluentinc/common-docker base/Dockerfile.ubi8 (cp-base-new) @ v7.9.0 (08889d9aee)"
return {
  recipe = "schema-registry",
  images = {
    ["confluentinc/cp-schema-registry:7.9.0"] = {
      user = "1000:1000",
      users = { "1000:1000" },
      env = {
        SCHEMA_REGISTRY_HEAP_OPTS = "JVM heap (schema-registry-run-class), not a property",
      },
      env_patterns = { "^SCHEMA_REGISTRY_" },
      paths = { ["/etc/schema-registry/secrets"] = { owner = "1000:0", mode = "0775" } },
      volumes = { "/etc/schema-registry/secrets" },
      writes = { "/etc/schema-registry", "/tmp" },
      tools = { "sh", "bash", "curl", "wget", "nc", "cat", "dub", "cub", "hostname", "/etc/confluent/docker/run" },
      ports = { [8081] = "HTTP (SCHEMA_REGISTRY_LISTENERS)" },
      exec_tmp = false,
      facts = {
        { "cp-base-new: FROM ubi8-minimal; installs wget, nmap-ncat (nc), python39, tar, procps-ng, hostname, curl and confluent-docker-utils (dub, cub); useradd appuser (first free uid on ubi8: 1000, own group 1000); chown appuser:appuser /etc/confluent /usr/logs", B .. " lines 16, 111-138" },
        { "FROM cp-base-new; ENV COMPONENT=schema-registry; EXPOSE 8081", D .. " lines 19, 42-45" },
        { "mkdir /etc/schema-registry/secrets /usr/logs; chown appuser:root -R /etc/schema-registry /usr/logs; chmod -R ug+w; VOLUME /etc/schema-registry/secrets", D .. " lines 77-82" },
        { "USER appuser; CMD /etc/confluent/docker/run (no ENTRYPOINT)", D .. " lines 84-88" },
        { "run: configure, then ensure (cub kafka-ready -b SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS, 40 s), then exec launch", R .. " lines 25-32; " .. EN .. " lines 41-47" },
        { "configure: dub ensure-atleast-one SCHEMA_REGISTRY_KAFKASTORE_CONNECTION_URL / _BOOTSTRAP_SERVERS; dub ensure SCHEMA_REGISTRY_HOST_NAME; dub path /etc/schema-registry/ writable; SCHEMA_REGISTRY_PORT set: exit 1 (use SCHEMA_REGISTRY_LISTENERS)", C .. " lines 19-27" },
        { "configure renders schema-registry.properties, log4j.properties and admin.properties into /etc/schema-registry at every start; the properties are env_to_props('SCHEMA_REGISTRY_', '')", C .. " lines 37-39; " .. P },
        { "launch: exec schema-registry-start /etc/schema-registry/schema-registry.properties (SCHEMA_REGISTRY_HEAP_OPTS is read by its run-class script)", L .. " line 37" },
        { "no _FILE support in these scripts", C },
        { "read-only root: configure writes /etc/schema-registry at every start: not read-only", C .. " lines 21, 37-39" },
        { "dropped capabilities: none needed (USER appuser)", D .. " line 86" },
        { "Kubernetes: numeric user 1000 given by the recipe (the image's USER is a name)", D .. " line 86" },
      },
    },
  },
}
