"""`callback-dialer doctor`: checks that a PBX, a database and a CRM are set up for the dialer."""
