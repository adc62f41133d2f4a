/*
 * store.c — the public store API, forwarding to the backend's ops table.
 */
#include "store/store_int.h"

sl_err sl_store_open(const char *data_dir, sl_store **out)
{
	if (!data_dir || !out)
		return SL_EINVAL;
	return sl_store_sqlite_open(data_dir, out);
}

void sl_store_close(sl_store *s)
{
	if (s)
		s->ops->close(s);
}

sl_err sl_store_put_reports(sl_store *s, sl_report *const *reports, size_t n,
			    sl_put_result *results)
{
	if (n == 0)
		return SL_OK;
	return s->ops->put_reports(s, reports, n, results);
}

sl_err sl_store_report_status(sl_store *s, const uint8_t hash[32],
			      sl_report_status *out)
{
	return s->ops->report_status(s, hash, out);
}

sl_err sl_store_each_report(sl_store *s, int64_t after_id,
			    sl_report_visit visit, void *ud)
{
	return s->ops->each_report(s, after_id, visit, ud);
}

sl_err sl_store_count_reports(sl_store *s, int64_t *out)
{
	return s->ops->count_reports(s, out);
}

sl_err sl_store_meta_get(sl_store *s, const char *key, char **out)
{
	return s->ops->meta_get(s, key, out);
}

sl_err sl_store_meta_set(sl_store *s, const char *key, const char *value)
{
	return s->ops->meta_set(s, key, value);
}

sl_err sl_store_check(sl_store *s)
{
	return s->ops->check(s);
}
