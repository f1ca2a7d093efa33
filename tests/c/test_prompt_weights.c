/* A1111 prompt emphasis and chunking. Expected values follow A1111's
 * modules/prompt_parser.py (parse_prompt_attention, including its own
 * doctests) and modules/sd_hijack_clip.py (tokenize_line); each case says
 * why its answer is what A1111 produces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/error.h"
#include "text/prompt_weights.h"
#include "text/tokenizer.h"

typedef struct {
  const char *text;
  double weight;
} want_seg;

static void expect_parse(const char *prompt, const want_seg *want, size_t nwant) {
  fk_err e = {0};
  fk_prompt_seg *s = NULL;
  size_t n = 0;
  int r = fk_prompt_parse(prompt, &s, &n, &e);
  CHECK(r == 0, "parse \"%s\": %s", prompt, e.msg);
  CHECK(r != 0 || n == nwant, "parse \"%s\": %zu segments, want %zu", prompt, n, nwant);
  for (size_t i = 0; r == 0 && i < n && i < nwant; i++) {
    CHECK(!strcmp(s[i].text, want[i].text), "parse \"%s\" seg %zu: \"%s\" want \"%s\"", prompt, i,
          s[i].text, want[i].text);
    /* Same operations in the same order as Python: exactly equal doubles. */
    CHECK(s[i].weight == want[i].weight, "parse \"%s\" seg %zu: weight %.17g want %.17g", prompt, i,
          s[i].weight, want[i].weight);
  }
  fk_prompt_segs_free(s, n);
}

#define EXPECT(prompt, ...)                                                                        \
  do {                                                                                             \
    const want_seg w_[] = {__VA_ARGS__};                                                           \
    expect_parse(prompt, w_, sizeof w_ / sizeof w_[0]);                                            \
  } while (0)

static void test_parse(void) {
  /* A1111's doctests. */
  EXPECT("normal text", {"normal text", 1.0});
  EXPECT("an (important) word", {"an ", 1.0}, {"important", 1.1}, {" word", 1.0});
  EXPECT("(unbalanced", {"unbalanced", 1.1}); /* open brackets reach the end */
  EXPECT("\\(literal\\]", {"(literal]", 1.0});
  EXPECT("(unnecessary)(parens)", {"unnecessaryparens", 1.1}); /* equal weights merge */
  EXPECT("a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).", {"a ", 1.0},
         {"house", 1.0 * 1.3 * 1.1 * 1.1}, {" ", 1.1}, {"on", 1.0 * (1 / 1.1) * 1.1}, {" a ", 1.1},
         {"hill", 1.0 * 0.5 * 1.1}, {", sun, ", 1.1}, {"sky", 1.0 * 1.1 * 1.1 * 1.1 * 1.1},
         {".", 1.1});
  /* ("on": [on] divides first, the still-open outer '(' multiplies at the
   * end, in multiply_range's order.) */
  EXPECT("[x]", {"x", 1.0 * (1 / 1.1)});
  EXPECT("((a)", {"a", 1.0 * 1.1 * 1.1});  /* inner ) closes, outer ( open to the end */
  EXPECT("a ) b ] c", {"a ) b ] c", 1.0}); /* unmatched closers are text */
  EXPECT("a:1.5) b", {"a:1.5) b", 1.0});   /* a weight with no open ( is text */
  EXPECT("(a: 1.5 )", {"a", 1.5});         /* spaces around the number are allowed */
  EXPECT("(a:-1)", {"a", -1.0});
  EXPECT("(a:.5)", {"a", 0.5});
  EXPECT("(a:x)", {"a:x", 1.1}); /* not a number: ':' and 'x' are text, ')' closes */
  EXPECT("a\\b", {"ab", 1.0});   /* a lone backslash matches "\\" and yields "" */
  EXPECT("\\\\", {"\\", 1.0});
  EXPECT("", {"", 1.0});
  /* BREAK needs word boundaries; spaces around it go with it. */
  EXPECT("a BREAK b", {"a", 1.0}, {"BREAK", -1.0}, {"b", 1.0});
  EXPECT("aBREAK b", {"aBREAK b", 1.0});
  EXPECT("BREAK a", {"", 1.0}, {"BREAK", -1.0}, {"a", 1.0});
  EXPECT("a BREAK BREAK b", {"a", 1.0}, {"BREAK", -1.0}, {"", 1.0}, {"BREAK", -1.0}, {"b", 1.0});
  /* Inside brackets the marker is multiplied too (-1.1), so tokenize_line
   * no longer sees a BREAK and encodes the word "BREAK". */
  EXPECT("(a BREAK b)", {"a", 1.1}, {"BREAK", -1.1}, {"b", 1.1});
  EXPECT("x (BREAK)", {"x ", 1.0}, {"", 1.1}, {"BREAK", -1.1}, {"", 1.1});

  fk_err e = {0};
  fk_prompt_seg *s = NULL;
  size_t n = 0;
  /* Python's float("1.2.3") raises inside A1111. */
  CHECK(fk_prompt_parse("(a:1.2.3)", &s, &n, &e) == FK_EUSER, "bad weight accepted");
  CHECK(strstr(e.msg, "1.2.3") != NULL, "message '%s'", e.msg);
  CHECK(fk_prompt_parse("(a\xff)", &s, &n, &e) == FK_EUSER, "invalid UTF-8 accepted");
}

static int32_t one_id(const fk_tok *t, const char *word) {
  int32_t *ids;
  size_t n;
  fk_err e = {0};
  if (fk_tok_encode(t, word, &ids, &n, &e) || n != 1) return -1;
  int32_t id = ids[0];
  free(ids);
  return id;
}

/* n copies of word separated by spaces (one token each). */
static char *repeat(const char *word, int n) {
  size_t l = strlen(word);
  char *s = malloc((l + 1) * (size_t)n + 1);
  if (!s) return NULL;
  s[0] = 0;
  for (int i = 0; i < n; i++) {
    memcpy(s + i * (l + 1), word, l);
    s[i * (l + 1) + l] = ' ';
    s[(i + 1) * (l + 1)] = 0;
  }
  return s;
}

static void test_chunks(const fk_tok *t) {
  fk_err e = {0};
  fk_prompt_chunks c;
  const int32_t bos = 49406, eos = 49407, cat = one_id(t, "cat"), dog = one_id(t, "dog"),
                comma = one_id(t, ",");
  CHECK(cat > 0 && dog > 0 && comma == 267, "ids %d %d %d", (int)cat, (int)dog, (int)comma);

  /* Empty prompt: one chunk, BOS then EOS everywhere (next_chunk(is_last)). */
  CHECK(fk_prompt_chunks_make(t, "", FK_PROMPT_A1111, eos, &c, &e) == 0, "%s", e.msg);
  CHECK(c.n == 1 && c.ids[0][0] == bos && c.ids[0][1] == eos && c.ids[0][76] == eos &&
            c.token_count == 0,
        "empty prompt");
  fk_prompt_chunks_free(&c);

  /* Weights ride on the tokens of their segment; BOS/EOS/padding get 1. */
  CHECK(fk_prompt_chunks_make(t, "a (cat:1.5) [dog]", FK_PROMPT_A1111, eos, &c, &e) == 0, "%s",
        e.msg);
  CHECK(c.n == 1 && c.ids[0][2] == cat && c.ids[0][3] == dog && c.ids[0][4] == eos, "ids");
  CHECK(c.weights[0][1] == 1.0f && c.weights[0][2] == 1.5f && c.weights[0][3] == (float)(1 / 1.1) &&
            c.weights[0][4] == 1.0f,
        "weights %g %g %g", c.weights[0][1], c.weights[0][2], c.weights[0][3]);
  CHECK(c.token_count == 3, "token_count %zu", c.token_count);
  fk_prompt_chunks_free(&c);

  /* Plain: the same text is literal, brackets become tokens, weights 1. */
  CHECK(fk_prompt_chunks_make(t, "a (cat:1.5)", FK_PROMPT_PLAIN, eos, &c, &e) == 0, "%s", e.msg);
  CHECK(c.n == 1 && c.ids[0][2] == one_id(t, "(") && c.weights[0][2] == 1.0f, "plain");
  fk_prompt_chunks_free(&c);

  /* 80 tokens: 75 in the first chunk, 5 in the second (token_count is
   * 75 + 5, A1111's "80/150"). */
  char *s80 = repeat("cat", 80);
  CHECK(s80 && fk_prompt_chunks_make(t, s80, FK_PROMPT_PLAIN, eos, &c, &e) == 0, "%s", e.msg);
  CHECK(c.n == 2 && c.ids[0][75] == cat && c.ids[0][76] == eos && c.ids[1][5] == cat &&
            c.ids[1][6] == eos && c.token_count == 80,
        "80 tokens: %zu chunks", c.n);
  fk_prompt_chunks_free(&c);
  free(s80);

  /* Comma backtrack: 70 cats, a comma (index 70), 10 dogs. When the 76th
   * token arrives the chunk is full and the comma is 5 <= 20 back, so the
   * 4 dogs after it move to the next chunk: chunk 1 = 70 cats, comma, EOS
   * padding; chunk 2 = 10 dogs. Plain weighting just cuts at 75. */
  char *cats = repeat("cat", 70), *dogs = repeat("dog", 10), buf[1024];
  snprintf(buf, sizeof buf, "%s, %s", cats ? cats : "", dogs ? dogs : "");
  CHECK(fk_prompt_chunks_make(t, buf, FK_PROMPT_A1111, eos, &c, &e) == 0, "%s", e.msg);
  CHECK(c.n == 2 && c.ids[0][70] == cat && c.ids[0][71] == comma && c.ids[0][72] == eos &&
            c.ids[1][1] == dog && c.ids[1][10] == dog && c.ids[1][11] == eos,
        "comma backtrack: %zu chunks", c.n);
  fk_prompt_chunks_free(&c);
  CHECK(fk_prompt_chunks_make(t, buf, FK_PROMPT_PLAIN, eos, &c, &e) == 0, "%s", e.msg);
  CHECK(c.n == 2 && c.ids[0][71] == comma && c.ids[0][75] == dog && c.ids[1][6] == dog &&
            c.ids[1][7] == eos,
        "plain cut: %zu chunks", c.n);
  fk_prompt_chunks_free(&c);
  free(cats);
  free(dogs);

  /* A comma 25 tokens back is beyond the 20-token backtrack: plain cut. */
  cats = repeat("cat", 50);
  dogs = repeat("dog", 40);
  snprintf(buf, sizeof buf, "%s, %s", cats ? cats : "", dogs ? dogs : "");
  CHECK(fk_prompt_chunks_make(t, buf, FK_PROMPT_A1111, eos, &c, &e) == 0, "%s", e.msg);
  CHECK(c.n == 2 && c.ids[0][51] == comma && c.ids[0][75] == dog && c.ids[1][1] == dog, "far");
  fk_prompt_chunks_free(&c);
  free(cats);
  free(dogs);

  /* BREAK closes the chunk; a leading BREAK yields an all-padding chunk
   * (next_chunk on an empty chunk), as in A1111. */
  CHECK(fk_prompt_chunks_make(t, "cat BREAK dog", FK_PROMPT_A1111, eos, &c, &e) == 0, "%s", e.msg);
  CHECK(c.n == 2 && c.ids[0][1] == cat && c.ids[0][2] == eos && c.ids[1][1] == dog &&
            c.token_count == 76,
        "BREAK: %zu chunks, count %zu", c.n, c.token_count);
  fk_prompt_chunks_free(&c);
  CHECK(fk_prompt_chunks_make(t, "BREAK dog", FK_PROMPT_A1111, eos, &c, &e) == 0, "%s", e.msg);
  CHECK(c.n == 2 && c.ids[0][1] == eos && c.ids[1][1] == dog, "leading BREAK");
  fk_prompt_chunks_free(&c);
  /* With no weighting BREAK is just a word. */
  CHECK(fk_prompt_chunks_make(t, "cat BREAK dog", FK_PROMPT_PLAIN, eos, &c, &e) == 0, "%s", e.msg);
  CHECK(c.n == 1 && c.ids[0][2] == one_id(t, "break") && c.ids[0][3] == dog, "plain BREAK");
  fk_prompt_chunks_free(&c);

  /* SD2 padding: after the first EOS everything is pad_id. */
  CHECK(fk_prompt_chunks_make(t, "cat", FK_PROMPT_A1111, 0, &c, &e) == 0, "%s", e.msg);
  CHECK(c.n == 1 && c.ids[0][2] == eos && c.ids[0][3] == 0 && c.ids[0][76] == 0, "pad 0");
  fk_prompt_chunks_free(&c);

  CHECK(fk_prompt_chunks_make(t, "(a:1.2.3)", FK_PROMPT_A1111, eos, &c, &e) == FK_EUSER,
        "bad weight");
  CHECK(fk_prompt_chunks_make(t, "a", 7, eos, &c, &e) == FK_EUSER, "bad mode");
}

int main(void) {
  test_parse();
  fk_err e = {0};
  fk_tok *t = NULL;
  CHECK(fk_tok_open(NULL, &t, &e) == 0, "open tokenizer: %s", e.msg);
  if (t) test_chunks(t);
  fk_tok_close(t);
  return CHECK_DONE();
}
