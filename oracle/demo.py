"""`python -m oracle.demo` still starts the demo, which lives in `simulators.demo`."""

import runpy

if __name__ == "__main__":
    runpy.run_module("simulators.demo", run_name="__main__", alter_sys=True)
