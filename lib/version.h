/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef TLSGATE_LIB_VERSION_H
#define TLSGATE_LIB_VERSION_H

/* One version for tlsgated, tlsgatectl and the Debian package (packaging/debian/changelog). */
#define TLSGATE_VERSION "0.4.0"

#endif
