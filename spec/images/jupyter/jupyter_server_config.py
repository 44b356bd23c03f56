# The Docker Stacks settings the contract relies on: listen on every address,
# on JUPYTER_PORT (8888), without a browser.
import os

c = get_config()  # noqa: F821 (provided by Jupyter when it loads this file)
c.ServerApp.ip = "0.0.0.0"
c.ServerApp.port = int(os.environ.get("JUPYTER_PORT", "8888"))
c.ServerApp.open_browser = False
