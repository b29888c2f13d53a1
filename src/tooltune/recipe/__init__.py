"""Recipes: end-to-end runs of tooltune's own loop (corpus -> training -> evaluation -> export)."""
