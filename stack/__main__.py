import sys

from stack import profile

profile.choose()  # first: importing the launcher imports settings, which reads the profile
try:
    from stack.cli import main
except ValueError as e:  # a malformed variable, which settings names
    sys.exit(f"error: {e}")

sys.exit(main(sys.argv[1:]))
