"""AMI adapter: the phone-availability monitor on panoramisk's Manager."""
