"""The simulator: simulated phones, agents and CRM around the real round."""
