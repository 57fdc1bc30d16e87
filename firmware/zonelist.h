#ifndef FW_ZONELIST_H
#define FW_ZONELIST_H

#include "results.h"

/* Each node's zonelist (node[i].zonelist) from the distances and which nodes have CPUs. */
void build_zonelists(struct fw_results *r);

#endif
