"""Setting up a Switchboard host: credentials shared by Asterisk and the server (``switchboard init``)."""
