/* Persistence of teamwork on a case: specialist groups and their members, and the
 * transfer of a case from one holder to another.
 *
 * A group (household, traffic, criminal, ...) is a name a call-taker can invite
 * into a case instead of a person: every free member is rung and the first to
 * accept joins. A transfer moves the case's holder in one conditional UPDATE
 * (only from the current holder of an answered case) together with its event, so
 * two transfers that race cannot both win. */
#ifndef VG_TEAM_STORE_H
#define VG_TEAM_STORE_H

#include "store.h"

#include <stdint.h>

/* Adds the group if new and the account to it; VG_OK if it already was. */
int vg_store_group_add_member(struct vg_store *st, const char *group, const char *account,
                              int64_t now_us);

/* Removes the account from the group (and the group once empty); VG_ENOENT if the
 * account was not in it. */
int vg_store_group_remove_member(struct vg_store *st, const char *group, const char *account);

/* Calls cb for each member of group (ordered by name), or for each (group, member)
 * pair when group is NULL. cb returning non-zero stops. VG_ENOENT: no such group. */
int vg_store_group_members(struct vg_store *st, const char *group,
                           int (*cb)(const char *group, const char *account, void *ud), void *ud);

/* Moves an answered case from holder `from` to `to`, with a "transfer" event
 * carrying event_data (JSON). VG_ESTATE if the case is not answered by `from`. */
int vg_store_case_transfer(struct vg_store *st, const char *id, const char *from, const char *to,
                           int64_t at_us, const char *event_data);

/* Calls cb, in order, for the events of case id that change who is on it besides its
 * holder: join, barge, leave, transfer, requeued (kind, actor or "", data JSON or
 * ""). cb returning non-zero stops. For rebuilding a live case's parties at start. */
/* VG_OK and its id when the case's last invitation has no recorded end (it was ringing
 * when vigild stopped); VG_ENOENT otherwise. */
int vg_store_case_open_invite(struct vg_store *st, const char *id, char *invite_id, size_t n);
int vg_store_case_team_events(struct vg_store *st, const char *id,
                              int (*cb)(const char *kind, const char *actor, const char *data,
                                        void *ud),
                              void *ud);

#endif
