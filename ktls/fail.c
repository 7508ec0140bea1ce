// SPDX-License-Identifier: GPL-2.0-only
/*
 * Recording why an endpoint failed, for ktls_ep_error().  Every ktls/ file fails through this,
 * so it lives apart from endpoint.c: the I/O files below the endpoint do not call back up.
 */
#include "ktls/internal.h"

#include <stdarg.h>
#include <stdio.h>

int ktls_ep_fail(struct ktls_ep *ep, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ep->err, sizeof(ep->err), fmt, ap);
	va_end(ap);
	return err;
}
