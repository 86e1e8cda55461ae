"""Scout: discover files under a folder, hash and classify them, and tag them by rule or by hand.

Submodules: ``walk`` (streaming directory walk), ``hashing`` (SHA-256 + first bytes), ``classify``
(kind from extension and content), ``rules`` (gitignore-style matching), ``scan`` (the scan itself).
This package stays light to import: worker processes load ``hashing`` on their own.
"""
