/*
 * lang.c — the four languages of lang.h and the report's vocabularies in
 * each of them.
 *
 * The tables are indexed [language][value]; a value added to report.h
 * without its words here fails to compile (the arrays are sized by the
 * enums' counts and every row is checked by tests/unit/test_lang.c).
 */
#include "sightline/lang.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const tags[SL_LANG_COUNT] = {"ru", "be", "uk", "en"};
static const char *const names[SL_LANG_COUNT] = {"Русский", "Беларуская", "Українська",
						 "English"};

static const char *const categories[SL_LANG_COUNT][SL_CAT_COUNT] = {
    [SL_LANG_RU] = {"Эшелон (железная дорога)", "Колонна на дороге", "Самолёты",
		    "Вертолёты", "Военные", "ПВО", "Ракетные комплексы", "Корабли и суда",
		    "Укрепления", "Другое"},
    [SL_LANG_BE] = {"Эшалон (чыгунка)", "Калона на дарозе", "Самалёты", "Верталёты",
		    "Вайскоўцы", "ППА", "Ракетныя комплексы", "Караблі і судны",
		    "Умацаванні", "Іншае"},
    [SL_LANG_UK] = {"Ешелон (залізниця)", "Колона на дорозі", "Літаки", "Гелікоптери",
		    "Військові", "ППО", "Ракетні комплекси", "Кораблі та судна",
		    "Укріплення", "Інше"},
    [SL_LANG_EN] = {"Military train (rail)", "Road convoy", "Aircraft", "Helicopters",
		    "Troops", "Air defence", "Missile systems", "Ships and boats",
		    "Fortifications", "Other"},
};

static const char *const equipment[SL_LANG_COUNT][SL_EQ_COUNT] = {
    [SL_LANG_RU] = {"Танки", "БМП", "БТР", "Артиллерия", "РСЗО", "Зенитные комплексы",
		    "Ракетные установки", "Грузовики", "Топливозаправщики",
		    "Инженерная техника", "Командно-штабные машины", "Вертолёты",
		    "Самолёты", "Другое"},
    [SL_LANG_BE] = {"Танкі", "БМП", "БТР", "Артылерыя", "РСЗА", "Зенітныя комплексы",
		    "Ракетныя ўстаноўкі", "Грузавікі", "Паліўазапраўшчыкі",
		    "Інжынерная тэхніка", "Камандна-штабныя машыны", "Верталёты",
		    "Самалёты", "Іншае"},
    [SL_LANG_UK] = {"Танки", "БМП", "БТР", "Артилерія", "РСЗВ", "Зенітні комплекси",
		    "Ракетні установки", "Вантажівки", "Паливозаправники",
		    "Інженерна техніка", "Командно-штабні машини", "Гелікоптери",
		    "Літаки", "Інше"},
    [SL_LANG_EN] = {"Tanks", "IFVs (BMP)", "APCs (BTR)", "Artillery", "MLRS",
		    "Air defence systems", "Missile launchers", "Trucks", "Fuel trucks",
		    "Engineering vehicles", "Command vehicles", "Helicopters", "Aircraft",
		    "Other"},
};

static const char *const statuses[SL_LANG_COUNT][SL_STATUS_COUNT] = {
    [SL_LANG_RU] = {"получено", "на проверке", "подтверждено", "отклонено"},
    [SL_LANG_BE] = {"атрымана", "на праверцы", "пацверджана", "адхілена"},
    [SL_LANG_UK] = {"отримано", "на перевірці", "підтверджено", "відхилено"},
    [SL_LANG_EN] = {"received", "under review", "verified", "rejected"},
};

static sl_lang valid(sl_lang l)
{
	return (unsigned)l < SL_LANG_COUNT ? l : SL_LANG_DEFAULT;
}

const char *sl_lang_tag(sl_lang l)
{
	return tags[valid(l)];
}

const char *sl_lang_name(sl_lang l)
{
	return names[valid(l)];
}

/* The primary subtag of the n bytes at tag: letters up to '-', '_' or the end. */
static bool lang_of(const char *tag, size_t n, sl_lang *out)
{
	size_t k = 0;
	while (k < n && isalpha((unsigned char)tag[k]))
		k++;
	if (k != 2 || (k < n && tag[k] != '-' && tag[k] != '_'))
		return false;
	for (int i = 0; i < SL_LANG_COUNT; i++)
		if (strncasecmp(tag, tags[i], 2) == 0) {
			*out = (sl_lang)i;
			return true;
		}
	return false;
}

bool sl_lang_from_tag(const char *tag, sl_lang *out)
{
	return tag && lang_of(tag, strlen(tag), out);
}

/* The q of ";q=0.8" in the n bytes at params (1 when absent, -1 when
 * malformed). */
static double quality(const char *params, size_t n)
{
	const char *q = NULL;
	for (size_t i = 0; i + 1 < n; i++)
		if ((params[i] == 'q' || params[i] == 'Q') && params[i + 1] == '=' &&
		    (i == 0 || params[i - 1] == ';' || params[i - 1] == ' ')) {
			q = params + i + 2;
			break;
		}
	if (!q)
		return 1;
	char buf[8];
	size_t len = (size_t)(params + n - q);
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, q, len);
	buf[len] = '\0';
	char *end;
	double v = strtod(buf, &end);
	while (*end == ' ')
		end++;
	return *end || v < 0 || v > 1 ? -1 : v;
}

sl_lang sl_lang_from_accept(const char *header, sl_lang dflt)
{
	if (!header)
		return dflt;
	sl_lang best = dflt;
	double best_q = 0;
	const char *p = header;
	/* A header longer than this is not from a browser; what is past it
	 * is not looked at. */
	for (int items = 0; *p && items < 32; items++) {
		size_t n = strcspn(p, ",");
		const char *item = p;
		p += n + (p[n] == ',');
		while (n && (*item == ' ' || *item == '\t'))
			item++, n--;
		size_t tn = strcspn(item, ";");
		if (tn > n)
			tn = n;
		while (tn && (item[tn - 1] == ' ' || item[tn - 1] == '\t'))
			tn--;
		sl_lang l;
		if (!lang_of(item, tn, &l))
			continue;
		double q = quality(item + tn, n - tn);
		if (q > best_q) {
			best_q = q;
			best = l;
		}
	}
	return best;
}

const char *sl_lang_category(sl_lang l, sl_category c)
{
	return categories[valid(l)][(unsigned)c < SL_CAT_COUNT ? c : SL_CAT_OTHER];
}

const char *sl_lang_equipment(sl_lang l, sl_equipment_type t)
{
	return equipment[valid(l)][(unsigned)t < SL_EQ_COUNT ? t : SL_EQ_OTHER];
}

const char *sl_lang_status(sl_lang l, sl_report_status s)
{
	return statuses[valid(l)][(unsigned)s < SL_STATUS_COUNT ? s : SL_STATUS_RECEIVED];
}
