"""risk: risk scoring for online consumer lending."""
