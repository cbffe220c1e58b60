"""Learning: practice sessions built from other modules' content; reacts to their events through the infrastructure."""
