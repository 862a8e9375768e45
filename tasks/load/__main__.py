"""``python -m tasks.load URL [--rate R | --connections C] --duration D [--json]``."""

from tasks.load.quick import load_command

if __name__ == "__main__":
    load_command(prog_name="python -m tasks.load")
