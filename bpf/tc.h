/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tc (clsact) attachment for our BPF programs.  Debian 12's libbpf is 1.1: bpf_tc_hook_create()
 * and bpf_tc_attach(), not tcx links.  A tc filter holds its own reference on the program, so an
 * attached program keeps running after the loader exits (fail-closed enforcement relies on it).
 */
#ifndef TLSGATE_BPF_TC_H
#define TLSGATE_BPF_TC_H

#include <stdbool.h>
#include <stdint.h>

/* Our filters all use this handle; priority tells programs apart on one hook. */
#define TG_TC_HANDLE 0x7467 /* "tg" */

/* Create clsact on ifindex if needed and attach prog_fd; replaces our own earlier filter. */
int tg_tc_attach(int ifindex, bool ingress, int prog_fd, uint32_t priority);
/* The same; *created tells whether the clsact qdisc was created by this call (it was not there),
 * so that a later detach removes only a qdisc that we added. */
int tg_tc_attach_ex(int ifindex, bool ingress, int prog_fd, uint32_t priority, bool *created);
/* Remove our filter; -ENOENT when it was not there. */
int tg_tc_detach(int ifindex, bool ingress, uint32_t priority);
/* Remove the clsact qdisc itself (and with it every filter on it). */
int tg_tc_destroy_hook(int ifindex);

#endif
