/* A minimal test harness: CHECK records a failure and goes on; main ends
 * with CHECK_DONE(), which prints "N passed, N failed" and sets the status. */
#ifndef FK_TEST_CHECK_H
#define FK_TEST_CHECK_H

#include <math.h>
#include <stdio.h>

static int check_passed, check_failed;

#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (cond) {                                                                                    \
      check_passed++;                                                                              \
    } else {                                                                                       \
      check_failed++;                                                                              \
      fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);                     \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fputc('\n', stderr);                                                                         \
    }                                                                                              \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                                      \
  CHECK(fabs((double)(a) - (double)(b)) <= (tol), "%.9g vs %.9g (tol %g)", (double)(a),            \
        (double)(b), (double)(tol))

#define CHECK_DONE()                                                                               \
  (printf("%d passed, %d failed\n", check_passed, check_failed), check_failed ? 1 : 0)

#endif
