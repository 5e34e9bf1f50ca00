import sys

from libs.datagen.cli import main

sys.exit(main())
