"""Weak supervision: labeling functions, an entity gazetteer, a label model and their analysis."""
