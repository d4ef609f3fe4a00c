"""CRM adapters: where orders come from and where outcomes go."""
