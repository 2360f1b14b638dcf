"""The five roles of DESIGN §5. Plain Python (no Django import) so the `fangpin` command can
offer them without loading Django."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    # The stored value is the Chinese name itself: it is what bureaus say, what the command
    # line takes (--role 乡镇专干) and what an administrator reads in the database.
    ADMIN = "系统管理员"
    COUNTY = "县级经办"
    TOWNSHIP = "乡镇专干"
    LIAISON = "部门联络员"
    LEADER = "领导"


ALL_ROLES: tuple[str, ...] = tuple(r.value for r in Role)
ROLE_CHOICES: list[tuple[str, str]] = [(r, r) for r in ALL_ROLES]

# Roles that only ever read: a leader sees statistics and never changes a record.
READ_ONLY_ROLES = frozenset({Role.LEADER})

# Roles that see whole resident ID numbers in lists and exports. County officers reconcile
# against hospital and provincial systems by ID; everyone else works with the masked form and
# opens a person's record (an audited view) when the full number is needed.
FULL_ID_ROLES = frozenset({Role.COUNTY})
