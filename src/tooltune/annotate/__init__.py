"""The annotation page: a person checks and corrects the agent's trajectories before they become
training data (`tooltune annotate`). Logic in `session`, layout in `page`, CLI in `commands`."""
