"""The files a user's PBX and host need, shipped as package data (asterisk-config writes them)."""
