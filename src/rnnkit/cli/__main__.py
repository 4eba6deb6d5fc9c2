"""``python -m rnnkit.cli``: the rnnkit command."""

from rnnkit.cli import main

if __name__ == "__main__":
    main()
