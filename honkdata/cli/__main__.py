"""`python -m honkdata.cli`, the same as the `honkdata` command."""

from honkdata.cli import app

app(prog_name="honkdata")
