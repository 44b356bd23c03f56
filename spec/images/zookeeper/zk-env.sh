# Sourced by the stand-in's zkServer.sh and zkCli.sh: the environment the
# official image's bin/zkEnv.sh gives them (config dir from ZOOCFGDIR, heap
# from ZK_SERVER_HEAP / ZK_CLIENT_HEAP in MB), on Debian's zookeeper.jar.
ZOOCFGDIR=${ZOOCFGDIR:-/conf}
ZOOCFG=$ZOOCFGDIR/zoo.cfg
ZOO_LOG_DIR=${ZOO_LOG_DIR:-/logs}
CLASSPATH="$ZOOCFGDIR:/usr/share/java/zookeeper.jar"
SERVER_JVMFLAGS="-Xmx${ZK_SERVER_HEAP:-1000}m ${SERVER_JVMFLAGS:-}"
CLIENT_JVMFLAGS="-Xmx${ZK_CLIENT_HEAP:-256}m ${CLIENT_JVMFLAGS:-}"
