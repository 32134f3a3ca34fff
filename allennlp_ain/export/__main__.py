"""`python -m allennlp_ain.export ARCHIVE OUTPUT_DIR [--quantize]`: `allennlp ain-export` without the plugin file."""
import sys

from allennlp_ain.commands.ain_export import main

if __name__ == "__main__":
    sys.exit(main())
