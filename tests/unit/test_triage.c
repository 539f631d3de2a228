/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Triage: the rules parser (strict, capped), the engine's matching
 * semantics on small rules written here, the built-in rules on messages
 * written for each rule of the labelling guide (none copied from the
 * examples), and robustness on empty, huge and binary input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "triage.h"

#define TEXT_MAX (64u * 1024u)

/* The smallest complete rules file; tests append to it. */
static const char minimal[] = "version 1\n"
			      "[queue]\nother =\n"
			      "[urgency]\nlow =\n"
			      "[language ru]\nwords да\n"
			      "[language uk]\nwords так\n"
			      "[language en]\nwords yes\n";

static itk_err
parse_str(const char *text, triage_rules **r, char *err, size_t errlen)
{
	return triage_rules_parse(text, strlen(text), r, err, errlen);
}

static void
expect_parse_error(const char *text, const char *want_in_err)
{
	triage_rules *r = (triage_rules *)&r;
	char err[256];
	itk_err rc = parse_str(text, &r, err, sizeof(err));

	if (rc == ITK_OK || strstr(err, want_in_err) == NULL) {
		print_error("rules:\n%s\nerror: '%s', wanted '%s'\n", text,
			    err, want_in_err);
	}
	assert_int_not_equal(rc, ITK_OK);
	assert_null(r);
	assert_non_null(strstr(err, want_in_err));
}

static void
parser_accepts_minimal(void **state)
{
	triage_rules *r = NULL;
	char err[256];

	assert_int_equal(parse_str(minimal, &r, err, sizeof(err)), ITK_OK);
	assert_non_null(r);
	triage_rules_free(r);
	triage_rules_free(NULL);
}

static void
parser_rejects_bad_files(void **state)
{
	char buf[4096];

	expect_parse_error("", "version 1");
	expect_parse_error("version 2\n", "line 1: unsupported version");
	expect_parse_error("[queue]\n", "line 1: the file must start");
	expect_parse_error("version 1\nfrobnicate\n",
			   "line 2: unknown directive 'frobnicate'");
	expect_parse_error("version 1\n[nonsense x]\n",
			   "line 2: unknown section");
	expect_parse_error("version 1\n[signal a]\nwords x\n",
			   "line 3: unknown directive 'words'");
	expect_parse_error("version 1\n[signal a]\nmatch x\n[signal a]\n",
			   "line 4: signal 'a' twice");
	expect_parse_error("version 1\n[signal Bad!]\n", "line 2: bad name");
	expect_parse_error("version 1\n[queue]\nother = nosuch\n",
			   "line 3: unknown signal 'nosuch'");
	expect_parse_error("version 1\n[queue]\nmaybe =\n",
			   "line 3: unknown queue 'maybe'");
	expect_parse_error("version 1\n[queue]\nother = queue:other\n",
			   "line 3: bad condition");
	expect_parse_error("version 1\n[signal a]\nmatch @nolist\n",
			   "line 3: unknown word list");
	expect_parse_error("version 1\n[signal a]\nmatch <nosuch>\n",
			   "line 3: unknown class");
	expect_parse_error("version 1\n[signal a]\nmatch a ..x b\n",
			   "line 3: bad gap");
	expect_parse_error("version 1\n[signal a]\nmatch a ..\n",
			   "line 3: '..' must stand between");
	expect_parse_error("version 1\n[signal a]\nmatch a*b\n", "line 3: ");
	expect_parse_error("version 1\n[signal a]\nmatch в/ч\n",
			   "line 3: 'в/ч' is not one word");
	expect_parse_error("version 1\n[signal a]\nmatch *\n",
			   "line 3: a bare '*'");
	expect_parse_error("version 1\n[signal a]\nmatch *a*\n",
			   "'*' at both ends");
	expect_parse_error("version 1\n[words w]\nwords @x\n",
			   "line 3: '@x': no @lists");
	expect_parse_error("version 1\n[language xx]\n",
			   "line 2: unknown language");
	expect_parse_error("version 1\n[settings]\ngap 42\n",
			   "line 3: gap takes");
	expect_parse_error("version 1\n[settings]\nfallback sideways ru\n",
			   "line 3: expected 'fallback");
	expect_parse_error("version 1\n[queue]\nother =\n",
			   "[queue] and [urgency] are required");
	expect_parse_error("version 1\n[queue]\nother =\n[urgency]\nlow =\n",
			   "[language ru] is required");
	/* Bad UTF-8, on line 3. */
	expect_parse_error("version 1\n# fine\n[signal \xd0]\n",
			   "line 3: not valid UTF-8");
	expect_parse_error("version 1\n[signal a]\nmatch \xc0\xaf\n",
			   "line 3: not valid UTF-8");
	/* An overlong line, on line 2. */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "version 1\nmatch ", 16);
	buf[sizeof(buf) - 1] = '\0';
	expect_parse_error(buf, "line 2: line longer than");
}

static void
parser_rejects_too_big(void **state)
{
	size_t n = 600u * 1024u;
	char *big = malloc(n);
	triage_rules *r = NULL;

	assert_non_null(big);
	memset(big, '#', n);
	assert_int_equal(triage_rules_parse(big, n, &r, NULL, 0),
			 ITK_E_TOO_BIG);
	assert_null(r);
	free(big);
}

static void
load_reports_missing_file(void **state)
{
	triage_rules *r = NULL;
	char err[256];

	assert_int_not_equal(triage_rules_load("/nonexistent/triage.rules", &r,
					       err, sizeof(err)),
			     ITK_OK);
	assert_null(r);
	assert_non_null(strstr(err, "/nonexistent/triage.rules"));
}

/* The file in the tree and the built-in copy parse, and agree. */
static void
default_rules_match_the_file(void **state)
{
	triage_rules *a = NULL, *b = NULL;
	char err[256];
	static const char *const texts[] = {
	    "хочу сдаться, я под Авдеевкой", "Мій син у полоні",
	    "my brother was killed, where is his body", "test"};

	assert_int_equal(triage_rules_default(&a), ITK_OK);
	assert_int_equal(triage_rules_load(TEST_SRCDIR
					   "/worker/rules/triage.rules",
					   &b, err, sizeof(err)),
			 ITK_OK);
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		triage_result x, y;

		assert_int_equal(
		    triage_classify(a, texts[i], strlen(texts[i]), NULL, &x),
		    ITK_OK);
		assert_int_equal(
		    triage_classify(b, texts[i], strlen(texts[i]), NULL, &y),
		    ITK_OK);
		assert_memory_equal(&x, &y, sizeof(x));
	}
	triage_rules_free(a);
	triage_rules_free(b);
}

/* ---- engine semantics on small rules ---- */

static triage_rules *
rules_with(const char *extra)
{
	char text[8192];
	triage_rules *r = NULL;
	char err[256];
	int n = snprintf(text, sizeof(text), "%s%s", minimal, extra);

	assert_true(n > 0 && (size_t)n < sizeof(text));
	/* Rules appended after [language en] need their own sections. */
	if (parse_str(text, &r, err, sizeof(err)) != ITK_OK) {
		print_error("%s\n", err);
	}
	assert_non_null(r);
	return r;
}

static itk_queue
q_of(const triage_rules *r, const char *text)
{
	triage_result res;

	assert_int_equal(triage_classify(r, text, strlen(text), NULL, &res),
			 ITK_OK);
	return res.queue;
}

static itk_lang
lang_of(const triage_rules *r, const char *text)
{
	triage_result res;

	assert_int_equal(triage_classify(r, text, strlen(text), NULL, &res),
			 ITK_OK);
	return res.language;
}

static void
engine_patterns(void **state)
{
	/* Queue rules are read before [language]: rebuild the file. */
	const char *text =
	    "version 1\n"
	    "[words kin]\nwords сын муж\n"
	    "[signal a]\nmatch хоч* ..2 плен\nexcept не ..1 хоч*\n"
	    "[signal b]\nmatch @kin ..0 погиб\n"
	    "[signal c]\nmatch ^*ов <year>\n"
	    "[signal d]\nany *ться\n"
	    "[queue]\nsurrender = a\ncasualty = b\ncaptivity = c\n"
	    "other =\n"
	    "[urgency]\nhigh = d\nlow =\n"
	    "[language ru]\nwords да\n[language uk]\nwords так\n"
	    "[language en]\nwords yes\n";
	triage_rules *r = NULL;
	char err[256];
	triage_result res;

	assert_int_equal(parse_str(text, &r, err, sizeof(err)), ITK_OK);
	/* Prefix, gap of up to 2 words, case and ё folded. */
	assert_int_equal(q_of(r, "ХОЧУ в ПЛЕН"), ITK_QUEUE_SURRENDER);
	assert_int_equal(q_of(r, "хочется очень-очень в плен"),
			 ITK_QUEUE_OTHER); /* gap of 3 */
	/* The exception overlaps the match: cancelled. */
	assert_int_equal(q_of(r, "не хочу в плен"), ITK_QUEUE_OTHER);
	/* A gap never crosses a sentence. */
	assert_int_equal(q_of(r, "хочу. в плен"), ITK_QUEUE_OTHER);
	/* Word lists, adjacency. */
	assert_int_equal(q_of(r, "мой муж погиб"), ITK_QUEUE_CASUALTY);
	assert_int_equal(q_of(r, "муж вчера погиб"), ITK_QUEUE_OTHER);
	/* Capitalised suffix, then a year. */
	assert_int_equal(q_of(r, "Петров 1990"), ITK_QUEUE_CAPTIVITY);
	assert_int_equal(q_of(r, "петров 1990"), ITK_QUEUE_OTHER);
	assert_int_equal(q_of(r, "Петров 2990"), ITK_QUEUE_OTHER);
	/* Latin look-alikes inside a Cyrillic word: "хoчу" with Latin o. */
	assert_int_equal(q_of(r, "x\xd0\xbe\xd1\x87\xd1\x83 в плен"),
			 ITK_QUEUE_SURRENDER);
	assert_int_equal(q_of(r, "\xd1\x85o\xd1\x87\xd1\x83 в плен"),
			 ITK_QUEUE_SURRENDER);
	/* Urgency sees the suffix signal. */
	assert_int_equal(triage_classify(r, "надо сдаться", 23, NULL, &res),
			 ITK_OK);
	assert_int_equal(res.urgency, ITK_URGENCY_HIGH);
	triage_rules_free(r);
}

static void
engine_language_counting(void **state)
{
	triage_rules *r = rules_with("[language other]\nwords hola\n"
				     "letters ñ\n");

	/* Words in one list count; most wins. */
	assert_int_equal(lang_of(r, "да да yes"), ITK_LANG_RU);
	assert_int_equal(lang_of(r, "yes так yes"), ITK_LANG_EN);
	/* A tie goes to the language of the first counted word. */
	assert_int_equal(lang_of(r, "так yes"), ITK_LANG_UK);
	assert_int_equal(lang_of(r, "yes так"), ITK_LANG_EN);
	/* Letters decide words in no list. */
	assert_int_equal(lang_of(r, "mañana"), ITK_LANG_OTHER);
	/* Names (capitalised inside a sentence) are ignored. */
	assert_int_equal(lang_of(r, "yes Mañana так так"), ITK_LANG_UK);
	/* Only unknown Cyrillic words: the fallback, ru. */
	assert_int_equal(lang_of(r, "абвгд"), ITK_LANG_RU);
	/* Nothing but numbers, codes, emoji, links: other. */
	assert_int_equal(lang_of(r, "12345 A0219 \xf0\x9f\x99\x8f "
				    "https://example.org/да"),
			 ITK_LANG_OTHER);
	triage_rules_free(r);
}

/*
 * The index walks a token's prefixes and suffixes only while some rule
 * word continues them: words longer than, equal to and shorter than a
 * prefix or suffix word, with and without shorter words of their own.
 */
static void
engine_prefix_suffix_walk(void **state)
{
	const char *text = "version 1\n"
			   "[signal a]\nany абвгд* zа*\n"
			   "[signal b]\nany *ость\n"
			   "[signal c]\nany аб*\n"
			   "[queue]\nsurrender = a\ncaptivity = b\n"
			   "casualty = c\nother =\n"
			   "[urgency]\nlow =\n"
			   "[language ru]\nwords да\n[language uk]\nwords "
			   "так\n"
			   "[language en]\nwords yes\n";
	triage_rules *r = NULL;
	char err[256];

	assert_int_equal(parse_str(text, &r, err, sizeof(err)), ITK_OK);
	assert_int_equal(q_of(r, "абвгдейка"), ITK_QUEUE_SURRENDER);
	assert_int_equal(q_of(r, "АБВГД"), ITK_QUEUE_SURRENDER);
	/* Shorter than the prefix word, but a shorter word matches. */
	assert_int_equal(q_of(r, "абвг"), ITK_QUEUE_CASUALTY);
	assert_int_equal(q_of(r, "абвжд"), ITK_QUEUE_CASUALTY);
	assert_int_equal(q_of(r, "а"), ITK_QUEUE_OTHER);
	assert_int_equal(q_of(r, "вабвгд"), ITK_QUEUE_OTHER);
	/* One-byte then two-byte letters. */
	assert_int_equal(q_of(r, "zабв"), ITK_QUEUE_SURRENDER);
	assert_int_equal(q_of(r, "zб"), ITK_QUEUE_OTHER);
	assert_int_equal(q_of(r, "z"), ITK_QUEUE_OTHER);
	/* Suffixes: longer, equal, shorter, and a near miss. */
	assert_int_equal(q_of(r, "радость"), ITK_QUEUE_CAPTIVITY);
	assert_int_equal(q_of(r, "ость"), ITK_QUEUE_CAPTIVITY);
	assert_int_equal(q_of(r, "сть"), ITK_QUEUE_OTHER);
	assert_int_equal(q_of(r, "радасть"), ITK_QUEUE_OTHER);
	triage_rules_free(r);
}

/*
 * Letters beyond the table (code points of 0x800 and up) and keyboard
 * mashing, both with rows whose keys are all distinct and with a key on
 * two rows; a full 32-key row must not make its last key a neighbour of
 * the next row's first.
 */
static void
engine_letters_and_keyboard(void **state)
{
	static const char *const kb[] = {
	    "[settings]\nkeyboard ñasdf ghjk\n",
	    "[settings]\nkeyboard ñasdf fghj\n",
	};
	triage_rules *r;

	for (size_t i = 0; i < sizeof(kb) / sizeof(kb[0]); i++) {
		char extra[256];

		snprintf(extra, sizeof(extra),
			 "[language other]\nwords hola\nletters ñ ạ\n%s",
			 kb[i]);
		r = rules_with(extra);
		/* ạ (U+1EA1) is found above the table: a tie, first wins. */
		assert_int_equal(lang_of(r, "bạn yes"), ITK_LANG_OTHER);
		assert_int_equal(lang_of(r, "ban yes"), ITK_LANG_EN);
		/* Neighbouring keys throughout: mashing, ignored. */
		assert_int_equal(lang_of(r, "ñasdf да"), ITK_LANG_RU);
		/* Two pairs in four: not mashing, ñ makes it other. */
		assert_int_equal(lang_of(r, "ñdsña да"), ITK_LANG_OTHER);
		/* Under five letters: never mashing. */
		assert_int_equal(lang_of(r, "ñasd да"), ITK_LANG_OTHER);
		triage_rules_free(r);
	}
	/* Row one: 31 letters then ñ; row two starts with ç. */
	r = rules_with("[language other]\nwords hola\nletters ñ ç\n"
		       "[settings]\nkeyboard "
		       "abcdefghijklmnopqrstuvwxyzабвгдñ çжз\n");
	assert_int_equal(lang_of(r, "ñçñçñ да"), ITK_LANG_OTHER);
	/* Same row, adjacent: д and ñ. */
	assert_int_equal(lang_of(r, "дñдñд да"), ITK_LANG_RU);
	triage_rules_free(r);
}

/* ---- the built-in rules, one case per rule of the guide ---- */

typedef struct {
	const char *text;
	itk_queue q;
	itk_urgency u;
	itk_lang l;
} gcase;

static void
run_cases(const gcase *cs, size_t n)
{
	triage_rules *r = NULL;
	int failed = 0;

	assert_int_equal(triage_rules_default(&r), ITK_OK);
	for (size_t i = 0; i < n; i++) {
		triage_result res;

		assert_int_equal(triage_classify(r, cs[i].text,
						 strlen(cs[i].text), "none",
						 &res),
				 ITK_OK);
		if (res.queue != cs[i].q || res.urgency != cs[i].u ||
		    res.language != cs[i].l) {
			print_error(
			    "%s\n  want %s/%s/%s got %s/%s/%s\n", cs[i].text,
			    itk_queue_name(cs[i].q), itk_urgency_name(cs[i].u),
			    itk_lang_name(cs[i].l), itk_queue_name(res.queue),
			    itk_urgency_name(res.urgency),
			    itk_lang_name(res.language));
			failed++;
		}
	}
	triage_rules_free(r);
	assert_int_equal(failed, 0);
}

#define S    ITK_QUEUE_SURRENDER
#define C    ITK_QUEUE_CAPTIVITY
#define D    ITK_QUEUE_CASUALTY
#define O    ITK_QUEUE_OTHER
#define CRIT ITK_URGENCY_CRITICAL
#define HIGH ITK_URGENCY_HIGH
#define NORM ITK_URGENCY_NORMAL
#define LOW  ITK_URGENCY_LOW
#define RU   ITK_LANG_RU
#define UK   ITK_LANG_UK
#define EN   ITK_LANG_EN
#define OT   ITK_LANG_OTHER

static void
guide_queue(void **state)
{
	static const gcase cs[] = {
	    /* surrender: himself, for a group, on his behalf, before the
	     * front, questions about how and its conditions. */
	    {"Решил сдаться, подскажите порядок действий", S, HIGH, RU},
	    {"Нас семеро, хотим сдаться всем отделением", S, HIGH, RU},
	    {"Мой сын хочет сдаться, он ещё в учебке", S, HIGH, RU},
	    {"Что мне будет, если я сдамся? Посадят?", S, HIGH, RU},
	    {"Хочу жить.", S, HIGH, RU},
	    {"please, how can I defect to the Ukrainian side", S, HIGH, EN},
	    /* other: "surrender" in any other sense, outsiders, mockery. */
	    {"Мы никогда не сдадимся!", O, LOW, RU},
	    {"Сдавайтесь сами, пока не поздно", O, LOW, RU},
	    {"Я журналистка, как у вас устроена сдача в плен?", O, LOW, RU},
	    {"Как уклониться от мобилизации?", O, LOW, RU},
	    /* captivity: a specific person is a prisoner, exchanges. */
	    {"Мій чоловік у полоні, коли наступний обмін?", C, NORM, UK},
	    {"Can I send a parcel to my son? He was captured in May.", C, NORM,
	     EN},
	    {"Брат сдался в плен месяц назад, где он сейчас?", C, NORM, RU},
	    /* missing + captivity raised is captivity, else casualty. */
	    {"Сын пропал без вести, может он у вас в плену?", C, NORM, RU},
	    {"Сын пропал без вести полгода назад", D, NORM, RU},
	    /* casualty: death, bodies, burial, DNA. */
	    {"Где сдать ДНК, чтобы опознать тело мужа?", D, NORM, RU},
	    {"Как вернуть тело брата для похорон?", D, NORM, RU},
	    /* precedence: surrender > captivity > casualty. */
	    {"Брат в плену, а я сам хочу сдаться", S, HIGH, RU},
	    {"Один сын погиб, второй в плену. Помогите узнать про "
	     "второго.",
	     C, NORM, RU},
	    /* a follow-up that does not say what it is about. */
	    {"Есть ли новости по моему делу?", O, LOW, RU},
	};

	run_cases(cs, sizeof(cs) / sizeof(cs[0]));
}

static void
guide_urgency(void **state)
{
	static const gcase cs[] = {
	    /* 1a place: town, landmark, coordinates. */
	    {"Хочу сдаться, стою у Северска", S, CRIT, RU},
	    {"хочу сдаться, сижу в окопе", S, CRIT, RU},
	    {"хочу сдаться 47.9911 37.8012", S, CRIT, RU},
	    /* 1a near time and contact now. */
	    {"Хочу сдаться послезавтра", S, CRIT, RU},
	    {"сдамся в 23:30", S, CRIT, RU},
	    {"Хочу сдаться, мы на передке", S, CRIT, RU},
	    {"Хочу сдаться, нас окружили и мы в окружении", S, CRIT, RU},
	    /* 1a not enough: region, direction, hometown, soon, СВО. */
	    {"Хочу сдаться, я в Запорожской области", S, HIGH, RU},
	    {"Хочу сдаться, я сам из Иркутска", S, HIGH, RU},
	    {"Хочу сдаться, скоро отправят на СВО", S, HIGH, RU},
	    {"Хочу сдаться, на позиции заходим через месяц, пока в тылу", S,
	     HIGH, RU},
	    /* 1b any queue: life in danger now. */
	    {"Нас держат в подвале и избивают, помогите", O, CRIT, RU},
	    {"Мужа сегодня отправляют на штурм, он погибнет", O, CRIT, RU},
	    {"Сын погиб, я не хочу больше жить", D, CRIT, RU},
	    {"Сын в плену, у него нет инсулина", C, CRIT, RU},
	    /* threats against the hotline do not count. */
	    {"Предатели, вас всех найдут и расстреляют", O, LOW, RU},
	    /* 2: captivity with full name plus birth date or unit. */
	    {"В плену ли Морозов Илья Сергеевич, 1992 г.р.?", C, HIGH, RU},
	    {"Is Pavel Smirnov, unit 01234, a prisoner of war?", C, HIGH, EN},
	    /* 3: other captivity and casualty messages. */
	    {"В плену ли Илья, 1992 г.р.?", C, NORM, RU},
	    {"Морозов Илья Сергеевич в плену?", C, NORM, RU},
	    {"Муж погиб 3 марта, тело не вернули", D, NORM, RU},
	    /* 4: other. */
	    {"Спасибо за вашу работу", O, LOW, RU},
	};

	run_cases(cs, sizeof(cs) / sizeof(cs[0]));
}

static void
guide_language(void **state)
{
	static const gcase cs[] = {
	    {"Добрий день, підкажіть, будь ласка", O, LOW, UK},
	    {"Добрый день, подскажите, пожалуйста", O, LOW, RU},
	    {"Good day, could you tell me please", O, LOW, EN},
	    /* transliteration counts for its language. */
	    {"privet, podskazhite pozhaluista", O, LOW, RU},
	    {"dyakuyu, shcho vy ye", O, LOW, UK},
	    /* other languages. */
	    {"Hola, ¿cómo estás?", O, LOW, OT},
	    {"Dzień dobry, czy mogę zapytać?", O, LOW, OT},
	    /* names, places, numbers do not count. */
	    {"Иванов Иван Иванович 1990", O, LOW, RU},
	    /* shared words only: Cyrillic is ru. */
	    {"мама", O, LOW, RU},
	    /* nothing left: other. */
	    {"", O, LOW, OT},
	    {"?!... 👍", O, LOW, OT},
	    {"фывафыва", O, LOW, OT},
	};

	run_cases(cs, sizeof(cs) / sizeof(cs[0]));
}

/* ---- robustness ---- */

static void
robust_empty_and_null(void **state)
{
	triage_rules *r = NULL;
	triage_result res;

	assert_int_equal(triage_rules_default(&r), ITK_OK);
	assert_int_equal(triage_classify(r, NULL, 0, NULL, &res), ITK_OK);
	assert_int_equal(res.queue, ITK_QUEUE_OTHER);
	assert_int_equal(res.urgency, ITK_URGENCY_LOW);
	assert_int_equal(res.language, ITK_LANG_OTHER);
	assert_int_equal(triage_classify(r, "", 0, "surrender", &res), ITK_OK);
	/* The form's choice never decides a label. */
	assert_int_equal(res.queue, ITK_QUEUE_OTHER);
	triage_rules_free(r);
}

static void
robust_huge(void **state)
{
	triage_rules *r = NULL;
	triage_result res;
	char *big = malloc(TEXT_MAX + 1);
	const char *unit = "хочу сдаться под Бахмутом ";
	size_t ul = strlen(unit), n = 0;

	assert_non_null(big);
	assert_int_equal(triage_rules_default(&r), ITK_OK);
	while (n + ul <= TEXT_MAX) {
		memcpy(big + n, unit, ul);
		n += ul;
	}
	memset(big + n, ' ', TEXT_MAX + 1 - n);
	assert_int_equal(triage_classify(r, big, TEXT_MAX, NULL, &res),
			 ITK_OK);
	assert_int_equal(res.queue, ITK_QUEUE_SURRENDER);
	assert_int_equal(res.urgency, ITK_URGENCY_CRITICAL);
	assert_int_equal(res.language, ITK_LANG_RU);
	/* One byte over the cap: refused, labels still safe defaults. */
	assert_int_equal(triage_classify(r, big, TEXT_MAX + 1, NULL, &res),
			 ITK_E_TOO_BIG);
	assert_int_equal(res.queue, ITK_QUEUE_OTHER);
	/* A single endless word and endless digits. */
	memset(big, 'a', TEXT_MAX);
	assert_int_equal(triage_classify(r, big, TEXT_MAX, NULL, &res),
			 ITK_OK);
	memset(big, '7', TEXT_MAX);
	assert_int_equal(triage_classify(r, big, TEXT_MAX, NULL, &res),
			 ITK_OK);
	free(big);
	triage_rules_free(r);
}

static void
robust_binary(void **state)
{
	triage_rules *r = NULL;
	uint8_t buf[4096];
	uint32_t x = 2463534242u; /* xorshift32: reproducible */

	assert_int_equal(triage_rules_default(&r), ITK_OK);
	for (int round = 0; round < 64; round++) {
		triage_result res;
		size_t n = (size_t)(x % sizeof(buf));

		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[i] = (uint8_t)x;
		}
		assert_int_equal(
		    triage_classify(r, (const char *)buf, n, NULL, &res),
		    ITK_OK);
		assert_true((unsigned)res.queue < ITK_QUEUE_COUNT);
		assert_true((unsigned)res.urgency < ITK_URGENCY_COUNT);
		assert_true((unsigned)res.language < ITK_LANG_COUNT);
	}
	/* NUL bytes and broken UTF-8 inside a message still separate. */
	{
		const char t[] = "хочу\0сдаться \xd0 \xff\xfe под\x80Бахмутом";
		triage_result res;

		assert_int_equal(
		    triage_classify(r, t, sizeof(t) - 1, NULL, &res), ITK_OK);
		assert_int_equal(res.queue, ITK_QUEUE_SURRENDER);
	}
	triage_rules_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parser_accepts_minimal),
	    cmocka_unit_test(parser_rejects_bad_files),
	    cmocka_unit_test(parser_rejects_too_big),
	    cmocka_unit_test(load_reports_missing_file),
	    cmocka_unit_test(default_rules_match_the_file),
	    cmocka_unit_test(engine_patterns),
	    cmocka_unit_test(engine_language_counting),
	    cmocka_unit_test(engine_prefix_suffix_walk),
	    cmocka_unit_test(engine_letters_and_keyboard),
	    cmocka_unit_test(guide_queue),
	    cmocka_unit_test(guide_urgency),
	    cmocka_unit_test(guide_language),
	    cmocka_unit_test(robust_empty_and_null),
	    cmocka_unit_test(robust_huge),
	    cmocka_unit_test(robust_binary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
