"""Operator console: Textual app with an embedded pjsua2 softphone.

Arrives with the operator console issue; nothing here yet.
"""
