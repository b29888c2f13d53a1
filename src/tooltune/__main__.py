"""`python -m tooltune` runs the `tooltune` command."""

from tooltune.cli import main

main()
