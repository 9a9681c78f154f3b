/* Per-pair loan features by walking each loan's own rows: risk.native's kernels (see its docstring).
 *
 * A pair is (loan number, as_of day). Days are int32 day numbers, as polars holds a Date; NO_DAY is a null day.
 * Each table's rows are found through group_rows: the row numbers of each loan, in the table's order. Every
 * feature is what risk.features.build computes in polars for the same pair, read from the same rows; money is
 * summed here in the table's order and rounded to the fen by the caller, as the polars code rounds it. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NO_DAY INT32_MIN

/* The rows of each key in [0, n_keys), in the rows' order: rows start[k] .. start[k + 1] - 1 of order. A row whose
 * key is outside (a loan not asked about) is left out. 0, or -1 when memory runs out. */
int group_rows(int64_t n, const int32_t *key, int32_t n_keys, int64_t *start, int64_t *order) {
    int64_t *cursor = malloc(sizeof(int64_t) * ((size_t)n_keys + 1));
    if (cursor == NULL) return -1;
    memset(start, 0, sizeof(int64_t) * ((size_t)n_keys + 1));
    for (int64_t i = 0; i < n; i++) {
        int32_t k = key[i];
        if (k >= 0 && k < n_keys) start[k + 1]++;
    }
    for (int32_t k = 0; k < n_keys; k++) start[k + 1] += start[k];
    memcpy(cursor, start, sizeof(int64_t) * ((size_t)n_keys + 1));
    for (int64_t i = 0; i < n; i++) {
        int32_t k = key[i];
        if (k >= 0 && k < n_keys) order[cursor[k]++] = i;
    }
    free(cursor);
    return 0;
}

/* paid by the end of day a (risk.delinquency.paid_by) */
static inline int paid_by(int32_t paid, int32_t a) { return paid != NO_DAY && paid <= a; }

/* A thread costs tens of microseconds: a walk is cut in two from this many rows. */
#define TWO_PARTS_FROM 20000

/* walk(first) here and walk(second) on a second thread, or both here when no thread can be made. */
static void walk_in_two(void *(*walk)(void *), void *first, void *second) {
    pthread_t helper;
    int beside = pthread_create(&helper, NULL, walk, second) == 0;
    walk(first);
    if (beside)
        pthread_join(helper, NULL);
    else
        walk(second);
}

/* days past due of one loan at a, over its ledger rows (risk.delinquency.days_past_due_expr's maximum over the
 * instalments ever late and due before a); -1 when it has none */
static int64_t loan_days_past_due(const int64_t *rows, int64_t from, int64_t to, const int32_t *due,
                                  const int32_t *paid, int32_t a) {
    int64_t worst = -1;
    for (int64_t r = from; r < to; r++) {
        int64_t i = rows[r];
        int ever_late = paid[i] == NO_DAY || paid[i] > due[i];
        if (!ever_late || due[i] >= a) continue;
        int64_t d = paid_by(paid[i], a) ? 0 : (int64_t)a - due[i];
        if (d > worst) worst = d;
    }
    return worst;
}

/* The repayment walk's inputs and outputs (see repayment). */
typedef struct {
    const int32_t *pk, *pa;
    int32_t grace;
    const int64_t *l_start, *l_rows;
    const int32_t *due, *paid;
    const double *amount_due, *principal_due;
    const int32_t *instalment_no;
    const int64_t *p_start, *p_rows;
    const int32_t *p_day;
    const double *p_amount, *p_cum;
    uint32_t *term;
    double *principal_total, *instalment_amount;
    uint32_t *due_count;
    double *due_total, *due_before_90d, *principal_paid, *paid_total, *paid_before_90d;
    int32_t *last_paid_on;
    int64_t *partial_payments, *days_past_due, *max_dpd_3m, *max_dpd_6m, *max_dpd_12m;
    uint32_t *late_instalments, *missed_instalments;
    const int64_t *sorted; /* the pairs in loan order */
    int64_t from, to;      /* this worker's share of them */
} Repayment;

static void *repay(void *arg) {
    const Repayment *w = arg;
    for (int64_t q = w->from; q < w->to; q++) {
        int64_t p = w->sorted[q];
        int32_t k = w->pk[p], a = w->pa[p], a90 = w->pa[p] - 90;
        uint32_t n = 0, counted_due = 0, late = 0, missed = 0;
        double total = 0.0, first_amount = 0.0, cum_due = 0.0, cum_due_90 = 0.0, cum_principal = 0.0;
        int32_t first_no = INT32_MAX;
        int have_first = 0;
        int64_t dpd = -1, m3 = -1, m6 = -1, m12 = -1;
        const int32_t *due = w->due, *paid = w->paid;
        for (int64_t r = w->l_start[k]; r < w->l_start[k + 1]; r++) {
            int64_t i = w->l_rows[r];
            n++;
            total += w->principal_due[i];
            if (!have_first || w->instalment_no[i] < first_no) {
                first_no = w->instalment_no[i];
                first_amount = w->amount_due[i];
                have_first = 1;
            }
            if (due[i] <= a) {
                counted_due++;
                cum_due += w->amount_due[i];
            }
            if (due[i] <= a90) cum_due_90 += w->amount_due[i];
            if (paid[i] != NO_DAY && paid[i] <= a) cum_principal += w->principal_due[i];
            int ever_late = paid[i] == NO_DAY || paid[i] > due[i];
            if (!ever_late || due[i] >= a) continue;
            /* the last day the instalment was unpaid, up to a */
            int32_t unpaid_until = paid[i] == NO_DAY ? a : paid[i] - 1;
            if (unpaid_until > a) unpaid_until = a;
            int64_t d = paid_by(paid[i], a) ? 0 : (int64_t)a - due[i];
            if (d > dpd) dpd = d;
            if (unpaid_until > due[i]) {
                int64_t overdue = (int64_t)unpaid_until - due[i];
                if (unpaid_until >= a - 89 && overdue > m3) m3 = overdue;
                if (unpaid_until >= a - 179 && overdue > m6) m6 = overdue;
                if (unpaid_until >= a - 364 && overdue > m12) m12 = overdue;
            }
            int64_t past_grace = (int64_t)due[i] + w->grace;
            if (past_grace < a) {
                if (paid[i] == NO_DAY || paid[i] > past_grace) late++;
                if (!paid_by(paid[i], a)) missed++;
            }
        }
        double cum_paid = 0.0, cum_paid_90 = 0.0;
        int32_t last = NO_DAY, last_90 = NO_DAY;
        int64_t partial = 0;
        double short_of = 0.95 * first_amount;
        for (int64_t r = w->p_start[k]; r < w->p_start[k + 1]; r++) {
            int64_t i = w->p_rows[r];
            int32_t day = w->p_day[i];
            if (day > a) continue;
            if (n > 0 && w->p_amount[i] < short_of) partial++;
            if (last == NO_DAY || day >= last) {
                last = day;
                cum_paid = w->p_cum[i];
            }
            if (day <= a90 && (last_90 == NO_DAY || day >= last_90)) {
                last_90 = day;
                cum_paid_90 = w->p_cum[i];
            }
        }
        w->term[p] = n;
        w->principal_total[p] = total;
        w->instalment_amount[p] = first_amount;
        w->due_count[p] = counted_due;
        w->due_total[p] = cum_due;
        w->due_before_90d[p] = cum_due_90;
        w->principal_paid[p] = cum_principal;
        w->paid_total[p] = cum_paid;
        w->paid_before_90d[p] = cum_paid_90;
        w->last_paid_on[p] = last;
        w->partial_payments[p] = partial;
        w->days_past_due[p] = dpd < 0 ? 0 : dpd;
        w->max_dpd_3m[p] = m3 < 0 ? 0 : m3;
        w->max_dpd_6m[p] = m6 < 0 ? 0 : m6;
        w->max_dpd_12m[p] = m12 < 0 ? 0 : m12;
        w->late_instalments[p] = late;
        w->missed_instalments[p] = missed;
    }
    return NULL;
}

/* The repayment features' raw columns of each pair (risk.features.build._repayment_by_lookups before its last
 * columns): the ledger's instalments (due day, paid day or NO_DAY, amount and principal due, number) and the daily
 * payments (day, amount, running total), each grouped by loan. The pairs are walked in loan order, so each loan's
 * rows are read while they are in the cache, in two halves on two threads when there are many (each pair's outputs
 * are its own). A pair of a loan without a number (-1) has a term of 0. 0, or -1 when memory runs out. */
int repayment(int64_t n_pairs, const int32_t *pk, const int32_t *pa, int32_t grace, const int64_t *l_start,
              const int64_t *l_rows, const int32_t *due, const int32_t *paid, const double *amount_due,
              const double *principal_due, const int32_t *instalment_no, const int64_t *p_start,
              const int64_t *p_rows, const int32_t *p_day, const double *p_amount, const double *p_cum,
              uint32_t *term, double *principal_total, double *instalment_amount, uint32_t *due_count,
              double *due_total, double *due_before_90d, double *principal_paid, double *paid_total,
              double *paid_before_90d, int32_t *last_paid_on, int64_t *partial_payments, int64_t *days_past_due,
              int64_t *max_dpd_3m, int64_t *max_dpd_6m, int64_t *max_dpd_12m, uint32_t *late_instalments,
              uint32_t *missed_instalments, int32_t threads) {
    int64_t *sorted = malloc(sizeof(int64_t) * ((size_t)n_pairs + 1));
    if (sorted == NULL) return -1;
    int32_t n_loans = 0;
    for (int64_t p = 0; p < n_pairs; p++) {
        if (pk[p] + 1 > n_loans) n_loans = pk[p] + 1;
        if (pk[p] < 0) { /* a loan without a number has no rows: no term, and nothing else */
            term[p] = due_count[p] = late_instalments[p] = missed_instalments[p] = 0;
            principal_total[p] = instalment_amount[p] = due_total[p] = due_before_90d[p] = 0.0;
            principal_paid[p] = paid_total[p] = paid_before_90d[p] = 0.0;
            last_paid_on[p] = NO_DAY;
            partial_payments[p] = days_past_due[p] = max_dpd_3m[p] = max_dpd_6m[p] = max_dpd_12m[p] = 0;
        }
    }
    int64_t *start = malloc(sizeof(int64_t) * ((size_t)n_loans + 1));
    if (start == NULL || group_rows(n_pairs, pk, n_loans, start, sorted) != 0) {
        free(start);
        free(sorted);
        return -1;
    }
    int64_t grouped = start[n_loans];
    free(start);
    Repayment all = {pk, pa, grace, l_start, l_rows, due, paid, amount_due, principal_due, instalment_no, p_start,
                     p_rows, p_day, p_amount, p_cum, term, principal_total, instalment_amount, due_count, due_total,
                     due_before_90d, principal_paid, paid_total, paid_before_90d, last_paid_on, partial_payments,
                     days_past_due, max_dpd_3m, max_dpd_6m, max_dpd_12m, late_instalments, missed_instalments,
                     sorted, 0, grouped};
    if (threads > 1 && grouped >= TWO_PARTS_FROM) {
        Repayment second = all;
        all.to = second.from = grouped / 2;
        walk_in_two(repay, &all, &second);
    } else {
        repay(&all);
    }
    free(sorted);
    return 0;
}

/* Action kinds, one bit each (risk.features.build._collections). */
enum { CONTACT = 1, REACHED = 2, PROMISE = 4, BROKEN_PROMISE = 8, REFUSED = 16, UNREACHABLE = 32 };

/* The collections history of each pair (risk.features.build._collections): its loan's actions up to as_of, by day,
 * ladder step and kind, and the pair's days past due (the overdue episode began that many days before as_of).
 * counts: 8 columns of n_pairs (contacts within 7, 30 and 90 days, reached, promises, broken promises, refusals and
 * unreachable within 90), one after the other; a pair without an action up to its as_of counts 0 and has no last
 * action day (NO_DAY). */
void collections(int64_t n_pairs, const int32_t *pk, const int32_t *pa, const int64_t *dpd,
                 const int64_t *a_start, const int64_t *a_rows, const int32_t *a_day, const int64_t *a_step,
                 const uint8_t *a_kind,
                 uint32_t *counts, int64_t *max_ladder_step, uint8_t *has_step,
                 int32_t *last_action_on) {
    for (int64_t p = 0; p < n_pairs; p++) {
        int32_t k = pk[p], a = pa[p];
        uint32_t c[8] = {0};
        int stepped = 0;
        int64_t step = 0;
        int32_t last = NO_DAY;
        if (k >= 0) {
            for (int64_t r = a_start[k]; r < a_start[k + 1]; r++) {
                int64_t i = a_rows[r];
                int64_t age = (int64_t)a - a_day[i];
                if (age < 0) continue;
                uint8_t kind = a_kind[i];
                if ((kind & CONTACT) && age < 7) c[0]++;
                if ((kind & CONTACT) && age < 30) c[1]++;
                if (age < 90) {
                    if (kind & CONTACT) c[2]++;
                    if (kind & REACHED) c[3]++;
                    if (kind & PROMISE) c[4]++;
                    if (kind & BROKEN_PROMISE) c[5]++;
                    if (kind & REFUSED) c[6]++;
                    if (kind & UNREACHABLE) c[7]++;
                }
                if (dpd[p] > 0 && age <= dpd[p] && (!stepped || a_step[i] > step)) {
                    step = a_step[i];
                    stepped = 1;
                }
                if (last == NO_DAY || a_day[i] > last) last = a_day[i];
            }
        }
        for (int j = 0; j < 8; j++) counts[j * n_pairs + p] = c[j];
        max_ladder_step[p] = step;
        has_step[p] = (uint8_t)stepped;
        last_action_on[p] = last;
    }
}

/* The borrower's other loans at each pair's as_of (risk.features.build._borrower_state): the loans grouped by
 * borrower (b_start, b_loans), each loan's origination and settlement day (NO_DAY: none) and its ledger rows for
 * days past due. A pair's own loan is pk (-1: none, an application). */
void borrower_state(int64_t n_pairs, const int32_t *pk, const int32_t *pb, const int32_t *pa,
                    const int64_t *b_start, const int64_t *b_loans, const int32_t *originated_on,
                    const int32_t *closed_on, const int64_t *l_start, const int64_t *l_rows, const int32_t *due,
                    const int32_t *paid,
                    int64_t *other_active_loans, int64_t *other_worst_days_past_due, int64_t *loans_opened_90d) {
    for (int64_t p = 0; p < n_pairs; p++) {
        int32_t b = pb[p], a = pa[p];
        int64_t active = 0, worst = -1, opened = 0;
        if (b >= 0) {
            for (int64_t r = b_start[b]; r < b_start[b + 1]; r++) {
                int64_t j = b_loans[r];
                if (j == pk[p] || originated_on[j] == NO_DAY || originated_on[j] > a) continue;
                if ((int64_t)originated_on[j] > (int64_t)a - 90) opened++;
                if (closed_on[j] != NO_DAY && closed_on[j] <= a) continue;
                active++;
                int64_t d = loan_days_past_due(l_rows, l_start[j], l_start[j + 1], due, paid, a);
                if (d > worst) worst = d;
            }
        }
        other_active_loans[p] = active;
        other_worst_days_past_due[p] = worst < 0 ? 0 : worst;
        loans_opened_90d[p] = opened;
    }
}

/* ---- loan numbers from the loan_id strings, read in place through the Arrow C stream interface ---------------- */
struct ArrowSchema {
    const char *format;
    const char *name;
    const char *metadata;
    int64_t flags;
    int64_t n_children;
    struct ArrowSchema **children;
    struct ArrowSchema *dictionary;
    void (*release)(struct ArrowSchema *);
    void *private_data;
};

struct ArrowArray {
    int64_t length;
    int64_t null_count;
    int64_t offset;
    int64_t n_buffers;
    int64_t n_children;
    const void **buffers;
    struct ArrowArray **children;
    struct ArrowArray *dictionary;
    void (*release)(struct ArrowArray *);
    void *private_data;
};

struct ArrowArrayStream {
    int (*get_schema)(struct ArrowArrayStream *, struct ArrowSchema *out);
    int (*get_next)(struct ArrowArrayStream *, struct ArrowArray *out);
    const char *(*get_last_error)(struct ArrowArrayStream *);
    void (*release)(struct ArrowArrayStream *);
    void *private_data;
};

/* One chunk of strings: Arrow's utf8 ("u"), large utf8 ("U") or utf8 view ("vu", polars' own). */
typedef struct {
    struct ArrowArray array;
    int kind; /* 'u', 'U' or 'v' */
} Strings;

static int open_strings(struct ArrowArrayStream *stream, int64_t length, Strings *s) {
    struct ArrowSchema schema;
    s->array.release = NULL;
    if (stream->get_schema(stream, &schema) != 0) return 1;
    const char *format = schema.format;
    s->kind = strcmp(format, "u") == 0 ? 'u' : strcmp(format, "U") == 0 ? 'U' : strcmp(format, "vu") == 0 ? 'v' : 0;
    schema.release(&schema);
    if (s->kind == 0) return 1;
    if (stream->get_next(stream, &s->array) != 0 || s->array.release == NULL) return 1;
    if (s->array.length != length) { /* one chunk, as the caller rechunked it */
        s->array.release(&s->array);
        s->array.release = NULL;
        return 1;
    }
    return 0;
}

static inline int is_null(const Strings *s, int64_t i) {
    const uint8_t *valid = s->array.buffers[0];
    int64_t j = i + s->array.offset;
    return valid != NULL && !((valid[j >> 3] >> (j & 7)) & 1);
}

static inline const uint8_t *string_at(const Strings *s, int64_t i, int64_t *len) {
    int64_t j = i + s->array.offset;
    if (s->kind == 'v') {
        const uint8_t *view = (const uint8_t *)s->array.buffers[1] + 16 * j;
        int32_t n;
        uint32_t buffer, offset;
        memcpy(&n, view, 4);
        *len = n;
        if (n <= 12) return view + 4;
        memcpy(&buffer, view + 8, 4);
        memcpy(&offset, view + 12, 4);
        return (const uint8_t *)s->array.buffers[2 + buffer] + offset;
    }
    if (s->kind == 'U') {
        const int64_t *off = s->array.buffers[1];
        *len = off[j + 1] - off[j];
        return (const uint8_t *)s->array.buffers[2] + off[j];
    }
    const int32_t *off = s->array.buffers[1];
    *len = off[j + 1] - off[j];
    return (const uint8_t *)s->array.buffers[2] + off[j];
}

/* Byte order of two strings, as polars sorts them: the shared bytes, then the shorter first. */
static inline int compare(const uint8_t *a, int64_t a_len, const uint8_t *b, int64_t b_len) {
    int64_t n = a_len < b_len ? a_len : b_len;
    for (int64_t i = 0; i < n; i++) /* ids are short: a loop beats a call to memcmp */
        if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
    return (a_len > b_len) - (a_len < b_len);
}

/* Each row's position among n_ids sorted, distinct, non-null ids, or -1 when it is null or not among them; both are
 * Arrow streams of one chunk of strings (ids not so sorted are refused). A row after a smaller one gallops on from where that one was found, so a
 * column in id order costs a comparison or two a row; a row smaller than the one before it is searched from the
 * start. 0, or 1 for streams it cannot read (the caller numbers them another way). */
int number_rows(struct ArrowArrayStream *id_stream, int64_t n_ids, struct ArrowArrayStream *row_stream, int64_t n,
                int32_t *out) {
    Strings ids, rows;
    if (open_strings(id_stream, n_ids, &ids) != 0) return 1;
    int64_t id_len, before_id_len = 0;
    const uint8_t *before_id = NULL;
    for (int64_t j = 0; j < n_ids; j++) { /* the merge needs them null-free and strictly rising, byte by byte */
        const uint8_t *id = string_at(&ids, j, &id_len);
        if (is_null(&ids, j) || (before_id != NULL && compare(id, id_len, before_id, before_id_len) <= 0)) {
            ids.array.release(&ids.array);
            return 1;
        }
        before_id = id;
        before_id_len = id_len;
    }
    if (open_strings(row_stream, n, &rows) != 0) {
        ids.array.release(&ids.array);
        return 1;
    }
    int64_t at = 0, before_len = 0, len; /* at: the first id not below the row before */
    const uint8_t *before = NULL; /* the last row not null, and its number */
    int32_t before_number = -1;
    for (int64_t i = 0; i < n; i++) {
        if (is_null(&rows, i)) {
            out[i] = -1;
            continue;
        }
        const uint8_t *row = string_at(&rows, i, &len);
        if (before != NULL) {
            int order = compare(row, len, before, before_len);
            if (order == 0) {
                out[i] = before_number;
                continue;
            }
            if (order < 0) at = 0;
        }
        /* gallop from at to a bound past the row, then search between: the first id not below the row */
        int64_t low = at, step = 1, high = at;
        while (high < n_ids) {
            const uint8_t *id = string_at(&ids, high, &id_len);
            if (compare(id, id_len, row, len) >= 0) break;
            low = high + 1;
            high += step;
            step *= 2;
        }
        if (high > n_ids) high = n_ids;
        while (low < high) {
            int64_t mid = low + (high - low) / 2;
            const uint8_t *id = string_at(&ids, mid, &id_len);
            if (compare(id, id_len, row, len) < 0)
                low = mid + 1;
            else
                high = mid;
        }
        at = low;
        out[i] = -1;
        if (low < n_ids) {
            const uint8_t *id = string_at(&ids, low, &id_len);
            if (compare(id, id_len, row, len) == 0) out[i] = (int32_t)low;
        }
        before = row;
        before_len = len;
        before_number = out[i];
    }
    ids.array.release(&ids.array);
    rows.array.release(&rows.array);
    return 0;
}

/* The first of n sorted days not before day. */
static int64_t first_on_or_after(const int32_t *days, int64_t n, int32_t day) {
    int64_t low = 0, high = n;
    while (low < high) {
        int64_t mid = low + (high - low) / 2;
        if (days[mid] < day)
            low = mid + 1;
        else
            high = mid;
    }
    return low;
}

/* The (loan, day) pairs of every loan originated and not yet settled on each of n_days sorted, distinct days
 * (risk.features.build._active_at): a loan is open from its origination day to the day before it settled. With
 * out_loan NULL, only counted; else written in day order, each day's loans in loan order (a counting sort by day).
 * The number of pairs, or -1 when memory runs out. */
int64_t active_pairs(int32_t n_loans, const int32_t *originated_on, const int32_t *closed_on, int64_t n_days,
                     const int32_t *days, int32_t *out_loan, int32_t *out_day) {
    int64_t *at = calloc((size_t)n_days + 1, sizeof(int64_t)); /* pairs of each day, then where each day's go */
    if (at == NULL) return -1;
    for (int32_t k = 0; k < n_loans; k++) {
        if (originated_on[k] == NO_DAY) continue;
        int64_t first = first_on_or_after(days, n_days, originated_on[k]);
        int64_t end = closed_on[k] == NO_DAY ? n_days : first_on_or_after(days, n_days, closed_on[k]);
        for (int64_t d = first; d < end; d++) at[d + 1]++;
    }
    for (int64_t d = 0; d < n_days; d++) at[d + 1] += at[d];
    int64_t n = at[n_days];
    if (out_loan != NULL) {
        for (int32_t k = 0; k < n_loans; k++) {
            if (originated_on[k] == NO_DAY) continue;
            int64_t first = first_on_or_after(days, n_days, originated_on[k]);
            int64_t end = closed_on[k] == NO_DAY ? n_days : first_on_or_after(days, n_days, closed_on[k]);
            for (int64_t d = first; d < end; d++) {
                out_loan[at[d]] = k;
                out_day[at[d]++] = days[d];
            }
        }
    }
    free(at);
    return n;
}

/* The first of a loan's payment days (rows from..to-1 of rows, running totals cum, never falling) whose running total
 * reaches target; -1 when none does. */
static int64_t first_reaching(const int64_t *rows, int64_t from, int64_t to, const double *cum, double target) {
    int64_t low = from, high = to;
    while (low < high) {
        int64_t mid = low + (high - low) / 2;
        if (cum[rows[mid]] < target)
            low = mid + 1;
        else
            high = mid;
    }
    return low < to ? low : -1;
}

/* The instalment ledger (risk.delinquency.ledger_of_payments) of a schedule in (loan, instalment) order whose due days
 * never fall within a loan, with no null amount or day: per instalment its running total due, the day it became paid
 * (the first payment day whose running total paid reaches the running total due, less the tolerance) and the loan's
 * settlement day (the first payment day whose total paid reaches the principal and the interest due by that day, less
 * the tolerance), an instalment still open then being paid that day. The daily payments are grouped by loan (p_start,
 * p_rows, in day order); principal is NaN for a loan missing from the loans (never settled). */
typedef struct {
    const int64_t *s_start;
    const double *principal_due, *interest_due;
    const int32_t *due;
    const double *principal;
    const int64_t *p_start, *p_rows;
    const int32_t *p_day;
    const double *p_cum;
    double tolerance;
    double *amount_due, *cum_due;
    int32_t *paid_on, *closed_on;
    int32_t from, to; /* the loans this part walks */
} Ledger;

static void *ledger_part(void *arg) {
    const Ledger *a = arg;
    for (int32_t k = a->from; k < a->to; k++) {
        int64_t from = a->s_start[k], to = a->s_start[k + 1], p_from = a->p_start[k], p_to = a->p_start[k + 1];
        /* settled: the first payment day paying the principal and the interest due by then */
        int32_t closed = NO_DAY;
        if (a->principal[k] == a->principal[k]) { /* not NaN */
            double interest = 0.0;
            int64_t r = from;
            for (int64_t q = p_from; q < p_to && closed == NO_DAY; q++) {
                int64_t j = a->p_rows[q];
                while (r < to && a->due[r] <= a->p_day[j]) interest += a->interest_due[r++];
                if (a->p_cum[j] >= a->principal[k] + interest - a->tolerance) closed = a->p_day[j];
            }
        }
        double cum = 0.0;
        for (int64_t r = from; r < to; r++) {
            a->amount_due[r] = a->principal_due[r] + a->interest_due[r];
            cum += a->amount_due[r];
            a->cum_due[r] = cum;
            int64_t q = first_reaching(a->p_rows, p_from, p_to, a->p_cum, cum - a->tolerance);
            int32_t day = q < 0 ? NO_DAY : a->p_day[a->p_rows[q]];
            if (closed != NO_DAY && (day == NO_DAY || closed < day)) day = closed;
            a->paid_on[r] = day;
            a->closed_on[r] = closed;
        }
    }
    return NULL;
}

/* The ledger of every loan; with threads > 1 and many instalments, the loans in two parts of about as many
 * instalments each, one on a second thread (each instalment's outputs are its own: the same whichever walks it). */
void ledger(int32_t n_loans, const int64_t *s_start, const double *principal_due, const double *interest_due,
            const int32_t *due, const double *principal, const int64_t *p_start, const int64_t *p_rows,
            const int32_t *p_day, const double *p_cum, double tolerance,
            double *amount_due, double *cum_due, int32_t *paid_on, int32_t *closed_on, int32_t threads) {
    Ledger all = {s_start, principal_due, interest_due, due, principal, p_start, p_rows, p_day, p_cum, tolerance,
                  amount_due, cum_due, paid_on, closed_on, 0, n_loans};
    int64_t rows = s_start[n_loans];
    if (threads > 1 && rows >= TWO_PARTS_FROM) {
        int32_t low = 0, high = n_loans; /* the first loan whose instalments start at or after half of them */
        while (low < high) {
            int32_t mid = low + (high - low) / 2;
            if (s_start[mid] < rows / 2)
                low = mid + 1;
            else
                high = mid;
        }
        Ledger second = all;
        all.to = second.from = low;
        walk_in_two(ledger_part, &all, &second);
    } else {
        ledger_part(&all);
    }
}
