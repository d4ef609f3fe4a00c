"""Outcomes to the CRM: the outbox worker behind its store port."""
