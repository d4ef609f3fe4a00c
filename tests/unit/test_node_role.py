"""The node's role states: the allowed moves, and the refused ones raise."""

from __future__ import annotations

import pytest

from dialer.app.node_role import LeaderRole, NodePhase, RoleTransitionError, ServerRole

_SERVER_MOVES = [
    (ServerRole.STANDBY, ServerRole.SERVING),  # took the server's lock
    (ServerRole.SERVING, ServerRole.SUSPENDED),  # lost it
    (ServerRole.SUSPENDED, ServerRole.SERVING),  # took it back
    (ServerRole.SUSPENDED, ServerRole.STANDBY),  # another node owns it now
    (ServerRole.SERVING, ServerRole.STANDBY),  # released at stop
]


@pytest.mark.parametrize(("start", "end"), _SERVER_MOVES)
def test_a_server_role_moves_along_the_lock(start: ServerRole, end: ServerRole) -> None:
    assert start.to(end) is end


def test_a_standby_server_cannot_be_suspended_without_having_served() -> None:
    with pytest.raises(RoleTransitionError, match="STANDBY cannot move to SUSPENDED"):
        ServerRole.STANDBY.to(ServerRole.SUSPENDED)


def test_staying_in_a_state_is_allowed() -> None:
    for role in ServerRole:
        assert role.to(role) is role


def test_server_roles_are_the_words_healthz_shows() -> None:
    assert [role.value for role in ServerRole] == ["standby", "serving", "suspended"]
    assert [role.owned for role in ServerRole] == [False, True, True]


def test_leadership_is_taken_and_lost() -> None:
    assert LeaderRole.FOLLOWER.to(LeaderRole.LEADER) is LeaderRole.LEADER
    assert LeaderRole.LEADER.to(LeaderRole.FOLLOWER) is LeaderRole.FOLLOWER


def test_a_node_that_stops_does_not_run_again() -> None:
    assert NodePhase.STARTING.to(NodePhase.RUNNING) is NodePhase.RUNNING
    assert NodePhase.RUNNING.to(NodePhase.STOPPING) is NodePhase.STOPPING
    assert NodePhase.STARTING.to(NodePhase.STOPPING) is NodePhase.STOPPING
    with pytest.raises(RoleTransitionError):
        NodePhase.STOPPING.to(NodePhase.RUNNING)
    with pytest.raises(RoleTransitionError):
        NodePhase.RUNNING.to(NodePhase.STARTING)
