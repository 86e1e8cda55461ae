"""One screen module per mode, plus the modal dialogs they open."""
