"""``python -m rnnkit``: the rnnkit command (what torchrun starts with ``-m rnnkit``)."""

from rnnkit.cli import main

if __name__ == "__main__":
    main()
