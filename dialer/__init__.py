"""The dialer service: storage, telephony over AMI, dispatch, CLI and composition root."""
