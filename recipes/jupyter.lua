-- JupyterLab with PySpark, the Jupyter Docker Stacks pyspark-notebook image
-- (quay.io; the Docker Hub copies are no longer updated), pinned to the tag
-- that carries Spark 3.5.3 — the same version as the spark recipe.
--
-- Option spark = "cluster" would make notebooks use the spark service, but
-- the pinned images cannot run it: PySpark refuses Python workers whose
-- Python differs from the driver's, and the notebook image's Python (3.11+,
-- jupyter/docker-stacks docker-stacks-foundation) is not apache/spark:3.5.3's
-- (Ubuntu 20.04's 3.8), so every RDD function and Python UDF would fail on
-- the cluster.  Planning it is a clear error (recipes/contracts/jupyter.lua);
-- spark = "local" (default) runs Spark inside this container.
--
-- The access token is a generated secret: the start command exports it from
-- its file as JUPYTER_TOKEN inside the container, never in the plan.
--
-- User: the image's `jovyan` (uid 1000, gid 100); its home and work dir are
-- owned by it, so a fresh volume at /home/jovyan/work is writable.  Not
-- read-only: Jupyter writes runtime files, caches and settings under $HOME.
-- Health: GET /api answers with the server version without a token once the
-- server accepts requests.
local function floor(x) return x - x % 1 end

-- A cell run through the server's own API: a kernel started over REST, the
-- code sent on its websocket channel (tornado, which the server runs on),
-- the kernel deleted.  Prints the cell's output.
local CELL = [[
import json, sys, urllib.request, uuid
from tornado import ioloop, websocket
tok = open("%s").read().strip()
base = "127.0.0.1:8888"
def call(method, path):
    r = urllib.request.Request("http://" + base + path, method=method,
                               headers={"Authorization": "token " + tok})
    body = urllib.request.urlopen(r, timeout=30).read()
    return json.loads(body) if body else None
kid = call("POST", "/api/kernels")["id"]
async def run():
    ws = await websocket.websocket_connect(websocket.httpclient.HTTPRequest(
        "ws://%%s/api/kernels/%%s/channels" %% (base, kid), headers={"Authorization": "token " + tok}))
    mid = uuid.uuid4().hex
    ws.write_message(json.dumps({"channel": "shell", "content": {"code": "print(6 * 7)", "silent": False},
        "header": {"msg_id": mid, "msg_type": "execute_request", "username": "deloc", "session": mid,
                   "version": "5.3"}, "parent_header": {}, "metadata": {}}))
    while True:
        m = json.loads(await ws.read_message())
        if m.get("parent_header", {}).get("msg_id") != mid: continue
        if m["msg_type"] == "stream": print(m["content"]["text"].strip())
        if m["msg_type"] == "error": sys.exit(1)
        if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle": return
try:
    ioloop.IOLoop.current().run_sync(run, timeout=90)
finally:
    call("DELETE", "/api/kernels/" + kid)
]]
local function max(a, b) if a > b then return a end return b end

return recipe "jupyter" {
  description = "JupyterLab notebooks with PySpark",
  category = "notebook",
  image = "quay.io/jupyter/pyspark-notebook:spark-3.5.3",
  options = {
    spark = { default = "local", choices = { "local", "cluster" },
              description = "Spark in the notebook container (cluster: not with the pinned images)" },
  },
  depends_on = function(opt)
    if opt.spark == "cluster" then
      error("option spark = \"cluster\" cannot run with the pinned images: the notebook's Python" ..
        " (3.11+) is not the spark workers' (apache/spark:3.5.3: 3.8) and PySpark refuses Python" ..
        " workers of another version; use spark = \"local\" (Spark in the notebook container)", 0)
    end
    return { }
  end,
  ports = {
    http = { port = 8888, http = true },
    sparkui = { port = 4040, http = true },
  },
  mounts = { work = { path = "/home/jovyan/work", description = "notebooks (mount writable to save)" } },
  volumes = {
    work = { path = "/home/jovyan/work", data = true, size = "2Gi" },
  },
  secrets = { token = { length = 32 } },
  command = function(s)
    -- in cluster mode the driver advertises this container's own address:
    -- executors connect back on ports a Kubernetes Service does not expose
    local driver_host = s.options.spark == "cluster" and
      'ip=$(hostname -i); export PYSPARK_SUBMIT_ARGS="--conf spark.driver.host=${ip%% *} $PYSPARK_SUBMIT_ARGS"; ' or ""
    return { "bash", "-c", driver_host ..
      ('export JUPYTER_TOKEN="$(cat %s)"; exec start-notebook.py --ServerApp.root_dir=/home/jovyan/work'):format(
        s.secret_file("token")) }
  end,
  env = function(s)
    -- the driver JVM gets half the container; Python and the kernel the rest
    local driver = max(256, floor((s.memory_mb or 1024) * 0.5))
    local args = ("--driver-memory %dm"):format(driver)
    local env = { }
    if s.options.spark == "cluster" then
      env.MASTER = ("spark://%s:7077"):format(s.host("spark", "master"))
      args = args .. (" --master %s --conf spark.driver.bindAddress=0.0.0.0"):format(env.MASTER)
    end
    env.PYSPARK_SUBMIT_ARGS = args .. " pyspark-shell"
    return env
  end,
  smoke = {
    exec = function(s) return { "python3", "-c", CELL:format(s.secret_file("token")) } end,
    expect = "42", timeout = "120s",
  },
  health = { http = { port = "http", path = "/api" },
             interval = "10s", timeout = "5s", retries = 12, start_period = "20s" },
  resources = {
    minimal     = { memory = "1Gi",  cpu = 0.5 },
    development = { memory = "2Gi",  cpu = 1 },
    production  = { memory = "4Gi",  cpu = 2 },
    min = { memory = "768Mi", cpu = 0.25 },
    max = { memory = "32Gi", cpu = 16 },
    disk = "2Gi",
  },
  user = "1000:100",
  read_only = false,
  capabilities = { },
  restricted = true,
  exports = { JUPYTER_URL = "http://{host}:{port:http}/lab", JUPYTER_TOKEN = "{secret:token}" },
  connections = {
    "http://{host}:{port:http}/lab?token={secret:token}",
  },
  -- deloc connect: no client to run, the URL to open, with its token
  connect = { url = "http://{host}:{port:http}/lab?token={secret:token}" },
}
