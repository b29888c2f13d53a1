"""The agent: a step loop over canonical messages that can stream, stop, be edited and resume."""

from tooltune.agent.loop import Agent, pending_calls
from tooltune.agent.steps import ActionStep, AgentStep, Event, FinalAnswerStep, FormatErrorStep, Status, TokenUsage, Trajectory

__all__ = ["ActionStep", "Agent", "AgentStep", "Event", "FinalAnswerStep", "FormatErrorStep", "Status", "TokenUsage", "Trajectory",
           "pending_calls"]
