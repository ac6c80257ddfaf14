"""Authentication (SASL/SCRAM-SHA-512 users) and authorisation (Kafka ACLs from the topic catalog)."""
