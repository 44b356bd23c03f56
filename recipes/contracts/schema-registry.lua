-- confluentinc/cp-schema-registry:7.9.0 — confluentinc/schema-registry-images
-- (public: schema-registry/Dockerfile.ubi8 and include/etc/confluent/docker/*),
-- FROM confluentinc/cp-base-new (confluentinc/common-docker, public), read at
-- the commits named.  cp-docker-images is the archived predecessor.
local D = "confluentinc/schema-registry-images schema-registry/Dockerfile.ubi8 @ 18e694777a"
local C = "confluentinc/schema-registry-images schema-registry/include/etc/confluent/docker/configure @ 01b3403a94"
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
      paths = { ["/etc/schema-registry/secrets"] = { owner = "1000:1000", mode = "0775" } },
      volumes = { "/etc/schema-registry/secrets" },
      writes = { "/etc/schema-registry", "/tmp" },
      tools = { "sh", "bash", "curl", "cat", "dub", "/etc/confluent/docker/run" },
      ports = { [8081] = "HTTP (SCHEMA_REGISTRY_LISTENERS)" },
      exec_tmp = false,
      facts = {
        { "FROM cp-base-new (ubi8-minimal; appuser uid 1000 gid 1000 created there); USER appuser; CMD /etc/confluent/docker/run", D },
        { "mkdir /etc/schema-registry/secrets /usr/logs; chown appuser; chmod -R g+w /etc/schema-registry; VOLUME /etc/schema-registry/secrets", D },
        { "configure: ensure SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS (or CONNECTION_URL) and SCHEMA_REGISTRY_HOST_NAME; 'path /etc/schema-registry/ writable'; templates the properties there from SCHEMA_REGISTRY_* variables", C },
        { "SCHEMA_REGISTRY_PORT is refused (use SCHEMA_REGISTRY_LISTENERS)", C },
        { "read-only root: configure renders /etc/schema-registry/*.properties at every start: not read-only", C },
        { "dropped capabilities: none needed (non-root)", D },
        { "curl: part of ubi-minimal's package set (cp-base-new base), used by the health check and smoke", "confluentinc/common-docker base/Dockerfile.ubi8" },
      },
    },
  },
}
