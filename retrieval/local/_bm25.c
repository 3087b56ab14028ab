/* Block-max BM25 over the varint postings of retrieval/local/postings.py, compiled.
 *
 * Two jobs, both per posting, which numpy cannot do cheaply:
 *
 * - build_blocks: the skip data of the long lists (retrieval/local/blocks.py): each block of
 *   BLOCK postings gets its last document, the byte where it starts in its list's varints, and
 *   up to FRONTIER (tf, length) pairs that bound every BM25 term of the block;
 * - top_k: document-at-a-time block-max MaxScore (Turtle & Flood's MaxScore with per-block
 *   bounds, as in Ding & Suel's block-max WAND): a block's varints are decoded only when its
 *   bound can lift a passage above the k-th best score so far. The scores are computed with
 *   the exhaustive path's arithmetic (postings.py's _add_bm25, then float32), so the top k
 *   is the same to the bit; ties go to the lower row.
 * - lookup: the counts of given documents in one list, decoding only their blocks.
 *
 * Compiled with -ffp-contract=off: no fused multiply-add, every operation rounded as numpy's.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BLOCK 256
#define MAX_FRONTIER 8
/* Relative margin on every bound: covers the float64 sums' order and the float32 roundings. */
#define MARGIN 1e-6

static const double K1 = 1.5;
static const double B = 0.75;

static inline uint32_t tf_at(const void *tf, int size, int64_t i) {
    switch (size) {
    case 1: return ((const uint8_t *)tf)[i];
    case 2: return ((const uint16_t *)tf)[i];
    default: return ((const uint32_t *)tf)[i];
    }
}

static inline void tf_put(void *tf, int size, int64_t i, uint32_t v) {
    switch (size) {
    case 1: ((uint8_t *)tf)[i] = (uint8_t)v; break;
    case 2: ((uint16_t *)tf)[i] = (uint16_t)v; break;
    default: ((uint32_t *)tf)[i] = v; break;
    }
}

/* Decode `count` varints (gaps) from `p`, adding them to `prev`; returns bytes read or -1. */
static inline Py_ssize_t decode_block(const uint8_t *p, Py_ssize_t avail, int count, uint32_t prev, uint32_t *out) {
    Py_ssize_t at = 0;
    for (int i = 0; i < count; i++) {
        uint32_t value = 0;
        int shift = 0;
        for (;;) {
            if (at >= avail || shift > 28) return -1;
            uint8_t byte = p[at++];
            value |= (uint32_t)(byte & 0x7F) << shift;
            if (byte < 0x80) break;
            shift += 7;
        }
        prev += value;
        out[i] = prev;
    }
    return at;
}

/* ---------------------------------------------------------------- build_blocks */

typedef struct {
    uint32_t tf;
    uint32_t length;
} Pair;

/* Insert (tf, length) into a Pareto frontier (no pair with tf >= and length <= another). */
static int frontier_add(Pair *front, int n, uint32_t tf, uint32_t length) {
    for (int i = 0; i < n; i++)
        if (front[i].tf >= tf && front[i].length <= length) return n; /* dominated */
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!(tf >= front[i].tf && length <= front[i].length)) front[m++] = front[i];
    front[m].tf = tf;
    front[m].length = length;
    return m + 1;
}

static int by_tf_descending(const void *a, const void *b) {
    const Pair *x = a, *y = b;
    return (x->tf < y->tf) - (x->tf > y->tf);
}

/* Keep at most `limit` pairs: merging two neighbours (by tf) into (higher tf, shorter length)
 * bounds both, so the bound stays an upper bound, only looser. */
static int frontier_shrink(Pair *front, int n, int limit) {
    qsort(front, (size_t)n, sizeof(Pair), by_tf_descending);
    while (n > limit) {
        /* merge the two highest-tf pairs: high counts are rare and short passages matter more */
        front[1].tf = front[0].tf;
        if (front[0].length < front[1].length) front[1].length = front[0].length;
        memmove(front, front + 1, (size_t)(n - 1) * sizeof(Pair));
        n--;
    }
    return n;
}

/* build_blocks(gaps, tf, tf_size, lengths, list_bytes, list_tf, list_sizes, block, frontier,
 *              out_last, out_offset, out_tf, out_length) -> blocks written
 * gaps/tf: the byte and count streams covering the chunk's lists; list_bytes/list_tf (int64):
 * where each list starts in them; list_sizes (int64): postings of each list (each > block);
 * lengths (int32): every document's length. Outputs are preallocated: uint32 last, uint32
 * offset (bytes from the list's start), frontier tf (tf_size bytes each) and uint16 length,
 * `frontier` of them a block (tf 0 where unused). */
static PyObject *build_blocks(PyObject *self, PyObject *args) {
    Py_buffer gaps, tf, lengths, list_bytes, list_tf, list_sizes, out_last, out_offset, out_tf, out_length;
    int tf_size, block, frontier;
    if (!PyArg_ParseTuple(args, "y*y*iy*y*y*y*iiw*w*w*w*", &gaps, &tf, &tf_size, &lengths, &list_bytes, &list_tf,
                          &list_sizes, &block, &frontier, &out_last, &out_offset, &out_tf, &out_length))
        return NULL;
    PyObject *result = NULL;
    int64_t written = 0;
    uint32_t *docs = NULL;
    if (block <= 0 || block > MAX_BLOCK || frontier <= 0 || frontier > MAX_FRONTIER ||
        (tf_size != 1 && tf_size != 2 && tf_size != 4)) {
        PyErr_SetString(PyExc_ValueError, "block, frontier or count size out of range");
        goto done;
    }
    docs = malloc(sizeof(uint32_t) * (size_t)block);
    if (!docs) {
        PyErr_NoMemory();
        goto done;
    }
    const int64_t *bytes_at = list_bytes.buf, *tf_at0 = list_tf.buf, *sizes = list_sizes.buf;
    const int32_t *length_of = lengths.buf;
    Py_ssize_t n_docs = lengths.len / 4, lists = list_sizes.len / 8;
    Py_ssize_t capacity = out_last.len / 4;
    uint32_t *last = out_last.buf, *offset = out_offset.buf;
    uint16_t *flen = out_length.buf;
    for (Py_ssize_t l = 0; l < lists; l++) {
        int64_t n = sizes[l], start = bytes_at[l], t0 = tf_at0[l];
        int64_t at = 0;
        uint32_t prev = 0;
        for (int64_t first = 0; first < n; first += block) {
            int count = (int)((n - first) < block ? (n - first) : block);
            if (written >= capacity || start + at > (int64_t)gaps.len || t0 + first + count > tf.len / tf_size) {
                PyErr_SetString(PyExc_ValueError, "postings shorter than their offsets");
                goto done;
            }
            Py_ssize_t used = decode_block((const uint8_t *)gaps.buf + start + at, gaps.len - start - at, count, prev, docs);
            if (used < 0) {
                PyErr_SetString(PyExc_ValueError, "corrupt varints");
                goto done;
            }
            Pair front[MAX_BLOCK + 1];
            int m = 0;
            for (int i = 0; i < count; i++) {
                if (docs[i] >= n_docs) {
                    PyErr_SetString(PyExc_ValueError, "a posting's document is out of range");
                    goto done;
                }
                m = frontier_add(front, m, tf_at(tf.buf, tf_size, t0 + first + i), (uint32_t)length_of[docs[i]]);
            }
            m = frontier_shrink(front, m, frontier);
            last[written] = docs[count - 1];
            offset[written] = (uint32_t)at;
            for (int i = 0; i < frontier; i++) {
                uint32_t length = i < m ? front[i].length : 0;
                tf_put(out_tf.buf, tf_size, written * frontier + i, i < m ? front[i].tf : 0);
                flen[written * frontier + i] = (uint16_t)(length > 65535 ? 65535 : length); /* shorter: still a bound */
            }
            prev = docs[count - 1];
            at += used;
            written++;
        }
    }
    result = PyLong_FromLongLong(written);
done:
    free(docs);
    PyBuffer_Release(&gaps);
    PyBuffer_Release(&tf);
    PyBuffer_Release(&lengths);
    PyBuffer_Release(&list_bytes);
    PyBuffer_Release(&list_tf);
    PyBuffer_Release(&list_sizes);
    PyBuffer_Release(&out_last);
    PyBuffer_Release(&out_offset);
    PyBuffer_Release(&out_tf);
    PyBuffer_Release(&out_length);
    return result;
}

/* ---------------------------------------------------------------- the lists at query time */

typedef struct {
    /* the postings */
    const uint8_t *gaps;
    Py_ssize_t gaps_len;
    const void *tf;
    int tf_size;
    int64_t n;
    double idf;
    double weight; /* the sum of the weights of the query positions naming this token */
    int64_t nblocks;
    const uint32_t *last;   /* NULL: a short list, decoded whole at the start */
    const uint32_t *offset;
    int block;
    /* bounds */
    double *bound; /* per block, weighted */
    double ub;
    uint32_t short_last;
    /* cursor */
    int64_t blk;     /* the block holding the next document asked (shallow) */
    int64_t dec_blk; /* the decoded block, -1 for none */
    int bn, pos;
    uint32_t docs[MAX_BLOCK];
    uint32_t tfs[MAX_BLOCK];
    /* the current document's term */
    double term;
    int has;
    int64_t decoded_postings, decoded_blocks;
    /* an essential list, read whole */
    uint32_t *all_docs, *all_tfs;
    int64_t ptr;
} List;

static inline uint32_t block_last(const List *l, int64_t b) { return l->last ? l->last[b] : l->short_last; }

static int decode(List *l, int64_t b) {
    int count = (int)((l->n - b * l->block) < l->block ? (l->n - b * l->block) : l->block);
    Py_ssize_t start = l->last ? (Py_ssize_t)l->offset[b] : 0;
    uint32_t prev = (l->last && b > 0) ? l->last[b - 1] : 0;
    if (start > l->gaps_len || decode_block(l->gaps + start, l->gaps_len - start, count, prev, l->docs) < 0)
        return -1; /* the caller raises, holding the GIL */
    if (l->last && l->docs[count - 1] != l->last[b]) return -1; /* the block disagrees with its skip data */
    for (int i = 0; i < count; i++) l->tfs[i] = tf_at(l->tf, l->tf_size, b * l->block + i);
    l->dec_blk = b;
    l->bn = count;
    l->pos = 0;
    l->decoded_postings += count;
    l->decoded_blocks += 1;
    return 0;
}

/* Move the block pointer to the block that may hold `d` (nothing decoded); nblocks: past the end. */
static inline int64_t shallow(List *l, uint32_t d) {
    while (l->blk < l->nblocks && block_last(l, l->blk) < d) l->blk++;
    return l->blk;
}

/* Seek `d`: 1 with the count in *tf if the list holds it, 0 if not, -1 on error. */
static inline int seek(List *l, uint32_t d, uint32_t *tf) {
    if (shallow(l, d) >= l->nblocks) return 0;
    if (l->dec_blk != l->blk) {
        if (decode(l, l->blk) < 0) return -1;
    }
    while (l->pos < l->bn && l->docs[l->pos] < d) l->pos++;
    if (l->pos < l->bn && l->docs[l->pos] == d) {
        *tf = l->tfs[l->pos];
        return 1;
    }
    return 0;
}

/* exactly postings.py's _add_bm25: terms = norm; terms = tf + terms; tf = tf * idf; tf / terms */
static inline double term_of(uint32_t tf, double idf, double norm) {
    double t = (double)tf;
    double denominator = t + norm;
    double numerator = t * idf;
    return numerator / denominator;
}

/* ---------------------------------------------------------------- the heap of the k best */

typedef struct {
    float score;
    int64_t row;
} Hit;

/* a is worse than b: lower score, or the same score and a later row */
static inline int worse(const Hit *a, const Hit *b) {
    return a->score < b->score || (a->score == b->score && a->row > b->row);
}

static void sift_down(Hit *h, int n, int i) {
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && worse(&h[l], &h[m])) m = l;
        if (r < n && worse(&h[r], &h[m])) m = r;
        if (m == i) return;
        Hit t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void sift_up(Hit *h, int i) {
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!worse(&h[i], &h[p])) return;
        Hit t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

static int better_first(const void *a, const void *b) {
    const Hit *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

/* ---------------------------------------------------------------- top_k */

typedef struct {
    Py_buffer view;
    int held;
} Held;

static int hold(PyObject *object, Held *held, int writable) {
    if (PyObject_GetBuffer(object, &held->view, writable ? PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS : PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    held->held = 1;
    return 0;
}

static void release(Held *held, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++)
        if (held[i].held) PyBuffer_Release(&held[i].view);
}

static double frontier_bound(const void *ftf, int tf_size, const uint16_t *flen, int64_t at, int frontier, double idf,
                             double avgdl) {
    double best = 0.0;
    for (int i = 0; i < frontier; i++) {
        uint32_t tf = tf_at(ftf, tf_size, at + i);
        if (!tf) continue;
        double norm = K1 * ((1.0 - B) + B * (double)flen[at + i] / avgdl);
        double t = term_of(tf, idf, norm);
        if (t > best) best = t;
    }
    return best;
}


/* One part, document at a time; the heap and its threshold carry over from the parts before. */
/* The k-th largest of values[0..n) (n >= k >= 1), by quickselect; reorders values. */
static double kth_largest(double *values, int64_t n, int64_t k) {
    int64_t lo = 0, hi = n - 1, want = k - 1;
    while (lo < hi) {
        double pivot = values[lo + (hi - lo) / 2];
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (values[i] > pivot) i++;
            while (values[j] < pivot) j--;
            if (i <= j) {
                double t = values[i];
                values[i] = values[j];
                values[j] = t;
                i++;
                j--;
            }
        }
        if (want <= j)
            hi = j;
        else if (want >= i)
            lo = i;
        else
            return values[want];
    }
    return values[want];
}

/* Work arrays kept between questions, in a small pool shared by the threads (a search holds one
 * while it runs without the GIL): no passage-sized allocation per question, and no more of them
 * than questions running at once. The partial scores and marks are zeroed after use, only where
 * they were written. */
typedef struct Work {
    double *acc;     /* a partial score per passage, all 0 between questions */
    uint64_t *marks; /* a bit per passage, all 0 between questions */
    uint32_t *touched;
    double *scratch;
    int64_t docs, capacity;
} Work;

#define POOL 8
static Work *pool[POOL];
static int pooled;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;

static void work_free(Work *w) {
    if (!w) return;
    free(w->acc);
    free(w->marks);
    free(w->touched);
    free(w->scratch);
    free(w);
}

static Work *work_take(void) {
    Work *w = NULL;
    pthread_mutex_lock(&pool_lock);
    if (pooled > 0) w = pool[--pooled];
    pthread_mutex_unlock(&pool_lock);
    return w ? w : calloc(1, sizeof(Work));
}

static void work_give_back(Work *w) {
    pthread_mutex_lock(&pool_lock);
    if (pooled < POOL) {
        pool[pooled++] = w;
        w = NULL;
    }
    pthread_mutex_unlock(&pool_lock);
    work_free(w);
}

static int work_for(Work *w, int64_t docs, int64_t capacity) {
    if (docs > w->docs) {
        free(w->acc);
        free(w->marks);
        w->acc = calloc((size_t)docs, sizeof(double));
        w->marks = calloc((size_t)(docs + 63) / 64, sizeof(uint64_t));
        w->docs = w->acc && w->marks ? docs : 0;
        if (!w->docs) return -1;
    }
    if (capacity > w->capacity) {
        free(w->touched);
        free(w->scratch);
        w->touched = malloc(sizeof(uint32_t) * (size_t)capacity);
        w->scratch = malloc(sizeof(double) * (size_t)capacity);
        w->capacity = w->touched && w->scratch ? capacity : 0;
        if (!w->capacity) return -1;
    }
    return 0;
}

/* The exact score of d given each list's `has`/`term`: each group's float64 sum in query order
 * (as postings.py's LexicalIndex.scores adds them), to float32, the groups after the first
 * weighted and added in float32 (as the search combines them). */
static inline float exact_score(List *lists, const int *pos_list, const int *pos_group, int P, const float *group_weight,
                                int G, double *sums) {
    for (int g = 0; g < G; g++) sums[g] = 0.0;
    for (int p = 0; p < P; p++) {
        List *l = pos_list[p] >= 0 ? &lists[pos_list[p]] : NULL;
        if (l && l->has) sums[pos_group[p]] += l->term;
    }
    float score = (float)sums[0];
    for (int g = 1; g < G; g++) {
        float weighted = group_weight[g] * (float)sums[g];
        score = score + weighted;
    }
    return score;
}

/* Set each essential list's has/term at d (binary search from its pointer, d ascending). */
static inline void essential_at(List *lists, const int *order, int essential, uint32_t d, const double *norm) {
    for (int i = 0; i < essential; i++) {
        List *l = &lists[order[i]];
        int64_t lo = l->ptr, hi = l->n;
        while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if (l->all_docs[mid] < d)
                lo = mid + 1;
            else
                hi = mid;
        }
        l->ptr = lo;
        l->has = lo < l->n && l->all_docs[lo] == d;
        if (l->has) l->term = term_of(l->all_tfs[lo], l->idf, norm[d]);
    }
}

/* One part: MaxScore with a threshold found on the way, block maxima for the rest.
 *
 * 1. The lists of highest bound are read whole, term at a time, into a partial score per
 *    passage (in any order: only a bound), until the bounds of the lists left sum below the
 *    k-th best partial score (a lower bound of the final k-th score, theta).
 * 2. The lists left (non-essential) are read only at the passages of step 1 that can still
 *    reach theta: first checked against the bounds of the blocks they fall in (nothing
 *    decoded), then the blocks decoded one list at a time while the bound holds.
 * 3. A passage that survives is scored exactly, each group's float64 sum in query order as the
 *    exhaustive path adds them, and kept among the k best (ties to the lower row: passages come
 *    in row order and must beat the k-th strictly).
 * The heap carries over from the parts before (their rows are lower). */
static int search_part(List *lists, int L, const int *pos_list, const int *pos_group, int P, const float *group_weight,
                       int G, const double *norm, Py_ssize_t n_docs, const uint8_t *eligible, int64_t start_row,
                       Hit *heap, int *filled, int k, float *best_out, const uint32_t *rows, int64_t n_rows,
                       float *row_scores) {
    int order[L > 0 ? L : 1];
    double blk_bound[L > 0 ? L : 1];
    double blk_prefix[L > 0 ? L : 1];
    double sums[G > 0 ? G : 1];
    int status = -1;
    double *acc;
    uint64_t *marks;
    uint32_t *touched;
    double *scratch;
    int64_t n_touched = 0;
    if (L == 0) {
        for (int64_t r = 0; r < n_rows; r++) row_scores[r] = 0.0f;
        return 0;
    }
    for (int i = 0; i < L; i++) { /* by upper bound, descending (insertion: a few dozen lists) */
        int j = i;
        while (j > 0 && lists[order[j - 1]].ub < lists[i].ub) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    double remaining = 0.0;
    int64_t capacity = 0;
    for (int i = 0; i < L; i++) {
        remaining += lists[i].ub;
        capacity += lists[i].n;
    }
    if (capacity > n_docs) capacity = n_docs;
    Work *work = work_take();
    if (!work || work_for(work, n_docs, capacity > 0 ? capacity : 1) < 0) {
        work_free(work);
        return -2;
    }
    acc = work->acc;
    marks = work->marks;
    touched = work->touched;
    scratch = work->scratch;
    double theta = *filled == k ? heap[0].score : 0.0;
    /* 1. the essential lists, whole */
    int essential = 0;
    while (essential < L) {
        if (remaining * (1.0 + MARGIN) < theta) break;
        List *l = &lists[order[essential]];
        l->all_docs = malloc(sizeof(uint32_t) * (size_t)l->n);
        l->all_tfs = malloc(sizeof(uint32_t) * (size_t)l->n);
        if (!l->all_docs || !l->all_tfs) {
            status = -2;
            goto done;
        }
        int64_t at = 0;
        for (int64_t b = 0; b < l->nblocks; b++) {
            if (l->dec_blk != b && decode(l, b) < 0) goto done;
            for (int i = 0; i < l->bn; i++) {
                uint32_t d = l->docs[i];
                if (d >= n_docs) goto done;
                l->all_docs[at] = d;
                l->all_tfs[at++] = l->tfs[i];
                if (eligible && !eligible[d]) continue;
                if (acc[d] == 0.0) touched[n_touched++] = d;
                acc[d] += term_of(l->tfs[i], l->idf, norm[d]) * l->weight;
            }
        }
        l->blk = l->nblocks; /* read whole */
        remaining -= l->ub;
        essential++;
        if (n_touched >= k && essential < L && remaining * (1.0 + MARGIN) >= theta) {
            for (int64_t i = 0; i < n_touched; i++) scratch[i] = acc[touched[i]];
            double kth = kth_largest(scratch, n_touched, k) * (1.0 - MARGIN);
            if (kth > theta) theta = kth;
        }
    }
    /* the rest, by bound ascending, with the prefix sums of their bounds */
    int ne = L - essential;
    int *rest = order + essential; /* descending; rest[ne - 1] has the lowest bound */
    double rest_ub = 0.0;
    for (int i = 0; i < ne; i++) rest_ub += lists[rest[i]].ub;
    /* 2. the candidates that may reach theta, in row order */
    int64_t lowest_word = INT64_MAX, highest_word = -1;
    for (int64_t i = 0; i < n_touched; i++) {
        uint32_t d = touched[i];
        if (!((acc[d] + rest_ub) * (1.0 + MARGIN) < theta)) {
            int64_t word = d >> 6;
            marks[word] |= (uint64_t)1 << (d & 63);
            if (word < lowest_word) lowest_word = word;
            if (word > highest_word) highest_word = word;
        }
    }
    for (int64_t word = lowest_word; word <= highest_word; word++) {
      uint64_t bits = marks[word];
      marks[word] = 0;
      while (bits) {
        uint32_t d = (uint32_t)(word * 64 + __builtin_ctzll(bits));
        bits &= bits - 1;
        if (*filled == k && heap[0].score > theta) theta = heap[0].score;
        double partial = acc[d];
        if ((partial + rest_ub) * (1.0 + MARGIN) < theta) continue;
        int pruned = 0;
        if (ne > 0) {
            double bounds = 0.0;
            for (int i = ne - 1; i >= 0; i--) { /* lowest bound first: prefix sums for the early exit */
                List *l = &lists[rest[i]];
                l->has = 0;
                int64_t b = shallow(l, d);
                blk_bound[i] = b < l->nblocks ? l->bound[b] : 0.0;
                bounds += blk_bound[i];
                blk_prefix[i] = bounds * (1.0 + MARGIN);
            }
            if ((partial + bounds) * (1.0 + MARGIN) < theta) continue;
            for (int i = 0; i < ne && !pruned; i++) { /* highest bound first */
                List *l = &lists[rest[i]];
                if (blk_bound[i] > 0.0) {
                    uint32_t tf = 0;
                    int found = seek(l, d, &tf);
                    if (found < 0) goto done;
                    if (found) {
                        l->term = term_of(tf, l->idf, norm[d]);
                        l->has = 1;
                        partial += l->term * l->weight;
                    }
                }
                double left = i + 1 < ne ? blk_prefix[i + 1] : 0.0;
                if (partial * (1.0 + MARGIN) + left < theta) pruned = 1;
            }
        }
        if (pruned) continue;
        /* 3. the exact score */
        essential_at(lists, order, essential, d, norm);
        float score = exact_score(lists, pos_list, pos_group, P, group_weight, G, sums);
        if (!(score > 0.0f)) continue;
        Hit hit = {score, start_row + (int64_t)d};
        if (*filled < k) {
            heap[*filled] = hit;
            sift_up(heap, *filled);
            (*filled)++;
        } else if (score > heap[0].score) {
            if (heap[0].score > *best_out) *best_out = heap[0].score;
            heap[0] = hit;
            sift_down(heap, k, 0);
        } else if (score > *best_out) {
            *best_out = score;
        }
    }
    }
    /* 4. the scores of the rows asked (the dense candidates), with fresh cursors */
    for (int i = 0; i < essential; i++) lists[order[i]].ptr = 0;
    for (int i = 0; i < ne; i++) {
        lists[rest[i]].blk = 0;
        lists[rest[i]].pos = 0;
    }
    for (int64_t r = 0; r < n_rows; r++) {
        uint32_t d = rows[r];
        row_scores[r] = 0.0f;
        if (d >= n_docs || (eligible && !eligible[d])) continue;
        essential_at(lists, order, essential, d, norm);
        for (int i = 0; i < ne; i++) {
            List *l = &lists[rest[i]];
            uint32_t tf = 0;
            int found = seek(l, d, &tf);
            if (found < 0) goto done;
            l->has = found;
            if (found) l->term = term_of(tf, l->idf, norm[d]);
        }
        row_scores[r] = exact_score(lists, pos_list, pos_group, P, group_weight, G, sums);
    }
    status = 0;
done:
    for (int i = 0; i < L; i++) {
        free(lists[i].all_docs);
        free(lists[i].all_tfs);
        lists[i].all_docs = NULL;
        lists[i].all_tfs = NULL;
    }
    for (int64_t i = 0; i < n_touched; i++) acc[touched[i]] = 0.0;
    if (status < 0)
        for (int64_t w = 0; w < (n_docs + 63) / 64; w++) marks[w] = 0;
    work_give_back(work);
    return status;
}

static int grow_rows(float **rows, int64_t *capacity, int64_t needed) {
    if (needed <= *capacity) return 1;
    float *more = realloc(*rows, sizeof(float) * (size_t)(needed > 0 ? needed : 1));
    if (!more) {
        PyErr_NoMemory();
        return 0;
    }
    *rows = more;
    *capacity = needed;
    return 1;
}

/* top_k(parts, pos_group, group_weight, k, avgdl, frontier) -> (rows bytes int64, scores bytes float32,
 *                                                         postings decoded, postings in the lists, blocks decoded)
 * parts: [(start_row, norm float64, eligible uint8 | None, last, offset, ftf, flen, tf_size, block,
 *          [list | None per unique token])]; list: (gaps, tf, postings, idf, first_block, nblocks);
 * pos_group: per query position (group, unique token); group_weight: per group (the first is 1). */
static PyObject *top_k(PyObject *self, PyObject *args) {
    PyObject *parts, *positions, *weights;
    int k, frontier;
    double avgdl;
    if (!PyArg_ParseTuple(args, "O!O!O!idi", &PyList_Type, &parts, &PyList_Type, &positions, &PyList_Type, &weights, &k,
                          &avgdl, &frontier))
        return NULL;
    if (k <= 0 || frontier <= 0 || frontier > MAX_FRONTIER) {
        PyErr_SetString(PyExc_ValueError, "k or frontier out of range");
        return NULL;
    }
    int P = (int)PyList_GET_SIZE(positions), G = (int)PyList_GET_SIZE(weights);
    int *pos_group = calloc((size_t)P + 1, sizeof(int)), *pos_token = calloc((size_t)P + 1, sizeof(int));
    float *group_weight = calloc((size_t)G + 1, sizeof(float));
    Hit *heap = calloc((size_t)k, sizeof(Hit));
    int filled = 0;
    PyObject *result = NULL;
    int64_t total_postings = 0, decoded_postings = 0, decoded_blocks = 0, rows_written = 0, rows_capacity = 0;
    float *row_scores = NULL;
    float best_out = -1.0f; /* the best score scored exactly and not kept */
    if (!pos_group || !pos_token || !group_weight || !heap) {
        PyErr_NoMemory();
        goto out;
    }
    for (int p = 0; p < P; p++) {
        if (!PyArg_ParseTuple(PyList_GET_ITEM(positions, p), "ii", &pos_group[p], &pos_token[p])) goto out;
        if (pos_group[p] < 0 || pos_group[p] >= G) {
            PyErr_SetString(PyExc_ValueError, "position group out of range");
            goto out;
        }
    }
    for (int g = 0; g < G; g++) group_weight[g] = (float)PyFloat_AsDouble(PyList_GET_ITEM(weights, g));
    if (PyErr_Occurred()) goto out;
    for (Py_ssize_t part = 0; part < PyList_GET_SIZE(parts); part++) {
        PyObject *spec = PyList_GET_ITEM(parts, part), *norm_o, *eligible_o, *last_o, *offset_o, *ftf_o, *flen_o, *tokens,
                 *rows_o;
        long long start_row;
        int tf_size, block;
        if (!PyArg_ParseTuple(spec, "LOOOOOOiiO!O", &start_row, &norm_o, &eligible_o, &last_o, &offset_o, &ftf_o,
                              &flen_o, &tf_size, &block, &PyList_Type, &tokens, &rows_o))
            goto out;
        if (block <= 0 || block > MAX_BLOCK || (tf_size != 1 && tf_size != 2 && tf_size != 4)) {
            PyErr_SetString(PyExc_ValueError, "block or count size out of range");
            goto out;
        }
        Py_ssize_t U = PyList_GET_SIZE(tokens);
        Held held[7 + 2 * U];
        memset(held, 0, sizeof(held));
        List *lists = calloc((size_t)U + 1, sizeof(List));
        int *slot = calloc((size_t)U + 1, sizeof(int)); /* unique token -> list, -1 if absent */
        int *pos_list = calloc((size_t)P + 1, sizeof(int));
        int L = 0, failed = 1;
        if (!lists || !slot || !pos_list) {
            PyErr_NoMemory();
            goto part_done;
        }
        if (hold(norm_o, &held[0], 0) < 0) goto part_done;
        if (eligible_o != Py_None && hold(eligible_o, &held[1], 0) < 0) goto part_done;
        if (hold(last_o, &held[2], 0) < 0 || hold(offset_o, &held[3], 0) < 0 || hold(ftf_o, &held[4], 0) < 0 ||
            hold(flen_o, &held[5], 0) < 0)
            goto part_done;
        if (hold(rows_o, &held[6], 0) < 0) goto part_done;
        const uint32_t *rows = held[6].view.buf;
        int64_t n_rows = held[6].view.len / 4;
        if (!grow_rows(&row_scores, &rows_capacity, rows_written + n_rows)) goto part_done;
        const double *norm = held[0].view.buf;
        Py_ssize_t n_docs = held[0].view.len / 8;
        const uint8_t *eligible = held[1].held ? held[1].view.buf : NULL;
        const uint32_t *all_last = held[2].view.buf, *all_offset = held[3].view.buf;
        Py_ssize_t all_blocks = held[2].view.len / 4;
        const void *ftf = held[4].view.buf;
        const uint16_t *flen = held[5].view.buf;
        if ((eligible && held[1].view.len < n_docs) || held[3].view.len / 4 < all_blocks ||
            held[4].view.len / tf_size < all_blocks * frontier || held[5].view.len / 2 < all_blocks * frontier) {
            PyErr_SetString(PyExc_ValueError, "block arrays disagree");
            goto part_done;
        }
        for (Py_ssize_t u = 0; u < U; u++) {
            PyObject *item = PyList_GET_ITEM(tokens, u);
            slot[u] = -1;
            if (item == Py_None) continue;
            PyObject *gaps_o, *tf_o;
            long long n, first, nblocks;
            double idf;
            if (!PyArg_ParseTuple(item, "OOLdLL", &gaps_o, &tf_o, &n, &idf, &first, &nblocks)) goto part_done;
            if (n <= 0) continue;
            List *l = &lists[L];
            if (hold(gaps_o, &held[7 + 2 * L], 0) < 0 || hold(tf_o, &held[8 + 2 * L], 0) < 0) goto part_done;
            l->gaps = held[7 + 2 * L].view.buf;
            l->gaps_len = held[7 + 2 * L].view.len;
            l->tf = held[8 + 2 * L].view.buf;
            l->tf_size = tf_size;
            l->n = n;
            l->idf = idf;
            l->block = block;
            l->dec_blk = -1;
            if (held[8 + 2 * L].view.len / l->tf_size < n || (nblocks && (first < 0 || first + nblocks > all_blocks)) ||
                (nblocks && nblocks != (n + block - 1) / block) || (!nblocks && n > block)) {
                PyErr_SetString(PyExc_ValueError, "a list disagrees with its blocks");
                goto part_done;
            }
            slot[u] = L;
            L++;
            total_postings += n;
            l->nblocks = nblocks ? nblocks : 1;
            l->bound = malloc(sizeof(double) * (size_t)l->nblocks);
            if (!l->bound) {
                PyErr_NoMemory();
                goto part_done;
            }
            if (nblocks) {
                l->last = all_last + first;
                l->offset = all_offset + first;
            } else { /* a short list: decoded now, its bound exact */
                if (decode(l, 0) < 0) {
                    PyErr_SetString(PyExc_ValueError, "corrupt postings");
                    goto part_done;
                }
                l->short_last = l->docs[l->bn - 1];
                if (l->short_last >= n_docs) {
                    PyErr_SetString(PyExc_ValueError, "a posting's document is out of range");
                    goto part_done;
                }
            }
        }
        for (int p = 0; p < P; p++) {
            if (pos_token[p] < 0 || pos_token[p] >= U) {
                PyErr_SetString(PyExc_ValueError, "position token out of range");
                goto part_done;
            }
            pos_list[p] = slot[pos_token[p]];
            if (pos_list[p] >= 0) lists[pos_list[p]].weight += group_weight[pos_group[p]];
        }
        for (int i = 0; i < L; i++) {
            List *l = &lists[i];
            l->ub = 0.0;
            if (l->last) {
                const uint32_t *last = l->last;
                if (last[l->nblocks - 1] >= n_docs) {
                    PyErr_SetString(PyExc_ValueError, "a block's document is out of range");
                    goto part_done;
                }
                int64_t first = last - all_last;
                for (int64_t b = 0; b < l->nblocks; b++) {
                    double bound = frontier_bound(ftf, tf_size, flen, (first + b) * frontier, frontier, l->idf, avgdl);
                    l->bound[b] = bound * l->weight * (1.0 + MARGIN);
                    if (l->bound[b] > l->ub) l->ub = l->bound[b];
                }
            } else {
                double best = 0.0;
                for (int j = 0; j < l->bn; j++) {
                    double t = term_of(l->tfs[j], l->idf, norm[l->docs[j]]);
                    if (t > best) best = t;
                }
                l->bound[0] = l->ub = best * l->weight * (1.0 + MARGIN);
            }
            l->blk = 0;
        }
        int searched;
        Py_BEGIN_ALLOW_THREADS /* only the held buffers are read: other askers run meanwhile */
        searched = search_part(lists, L, pos_list, pos_group, P, group_weight, G, norm, n_docs, eligible, start_row,
                               heap, &filled, k, &best_out, rows, n_rows, row_scores + rows_written);
        Py_END_ALLOW_THREADS
        if (searched == 0) {
            failed = 0;
            rows_written += n_rows;
        } else if (searched == -2) {
            PyErr_NoMemory();
        } else {
            PyErr_SetString(PyExc_ValueError, "corrupt postings: run `hoptac reindex`");
        }
    part_done:
        if (lists)
            for (int i = 0; i < L; i++) {
                free(lists[i].bound);
                decoded_postings += lists[i].decoded_postings;
                decoded_blocks += lists[i].decoded_blocks;
            }
        free(lists);
        free(slot);
        free(pos_list);
        release(held, 7 + 2 * U);
        if (failed) goto out;
    }
    /* a passage left out with the k-th score (heap[0], the worst kept): which of the tied ones are
     * the k best is the exhaustive path's choice (np.argpartition), so the caller asks it */
    int tied = filled == k && best_out == heap[0].score;
    qsort(heap, (size_t)filled, sizeof(Hit), better_first);
    {
        PyObject *of_rows = PyBytes_FromStringAndSize((const char *)row_scores, (Py_ssize_t)rows_written * 4);
        PyObject *rows = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)filled * 8);
        PyObject *scores = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)filled * 4);
        if (!rows || !scores || !of_rows) {
            Py_XDECREF(of_rows);
            Py_XDECREF(rows);
            Py_XDECREF(scores);
            goto out;
        }
        int64_t *r = (int64_t *)PyBytes_AS_STRING(rows);
        float *s = (float *)PyBytes_AS_STRING(scores);
        for (int i = 0; i < filled; i++) {
            r[i] = heap[i].row;
            s[i] = heap[i].score;
        }
        result = Py_BuildValue("NNNLLLi", rows, scores, of_rows, (long long)decoded_postings,
                               (long long)total_postings, (long long)decoded_blocks, tied);
    }
out:
    free(row_scores);
    free(pos_group);
    free(pos_token);
    free(group_weight);
    free(heap);
    return result;
}

/* lookup(gaps, tf, tf_size, postings, last, offset, first_block, nblocks, block, docs uint32 ascending) -> bytes of uint32 counts
 * (0 where the list lacks the document); only the blocks that may hold a document are decoded. */
static PyObject *lookup(PyObject *self, PyObject *args) {
    Py_buffer gaps, tf, last, offset, docs;
    long long n, first, nblocks;
    int block, tf_size;
    if (!PyArg_ParseTuple(args, "y*y*iLy*y*LLiy*", &gaps, &tf, &tf_size, &n, &last, &offset, &first, &nblocks, &block,
                          &docs))
        return NULL;
    PyObject *result = NULL;
    List *l = calloc(1, sizeof(List));
    Py_ssize_t count = docs.len / 4;
    PyObject *out = PyBytes_FromStringAndSize(NULL, count * 4);
    if (!l || !out) {
        if (!l) PyErr_NoMemory();
        goto done;
    }
    uint32_t *counts = (uint32_t *)PyBytes_AS_STRING(out);
    const uint32_t *asked = docs.buf;
    if (block <= 0 || block > MAX_BLOCK || (nblocks && (first < 0 || first + nblocks > last.len / 4 ||
                                                         first + nblocks > offset.len / 4 ||
                                                         nblocks != (n + block - 1) / block)) ||
        (!nblocks && n > block) || (tf_size != 1 && tf_size != 2 && tf_size != 4) || tf.len / tf_size < n) {
        PyErr_SetString(PyExc_ValueError, "a list disagrees with its blocks");
        goto done;
    }
    l->gaps = gaps.buf;
    l->gaps_len = gaps.len;
    l->tf = tf.buf;
    l->tf_size = tf_size;
    l->n = n;
    l->block = block;
    l->dec_blk = -1;
    l->nblocks = nblocks ? nblocks : (n > 0);
    if (nblocks) {
        l->last = (const uint32_t *)last.buf + first;
        l->offset = (const uint32_t *)offset.buf + first;
    } else if (n > 0) {
        if (decode(l, 0) < 0) {
            PyErr_SetString(PyExc_ValueError, "corrupt postings");
            goto done;
        }
        l->short_last = l->docs[l->bn - 1];
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        uint32_t found = 0;
        if (i > 0 && asked[i] < asked[i - 1]) {
            PyErr_SetString(PyExc_ValueError, "documents not ascending");
            goto done;
        }
        if (seek(l, asked[i], &found) < 0) {
            PyErr_SetString(PyExc_ValueError, "corrupt postings");
            goto done;
        }
        counts[i] = found;
    }
    result = out;
    out = NULL;
done:
    Py_XDECREF(out);
    free(l);
    PyBuffer_Release(&gaps);
    PyBuffer_Release(&tf);
    PyBuffer_Release(&last);
    PyBuffer_Release(&offset);
    PyBuffer_Release(&docs);
    return result;
}

/* all_scores(parts, positions, weights) -> bytes of float32, one score per passage of every part
 * parts: [(norm float64, eligible uint8 | None, tf_size, [(gaps, tf, postings) | None per unique token])];
 * positions and weights as top_k's. Every posting read, term at a time in query order: exactly
 * postings.py's LexicalIndex.scores and the search's float32 combination, 0 where not eligible.
 * What the search falls back to when passages tie at the k-th place (then np.argpartition picks). */
static PyObject *all_scores(PyObject *self, PyObject *args) {
    PyObject *parts, *positions, *weights;
    if (!PyArg_ParseTuple(args, "O!O!O!", &PyList_Type, &parts, &PyList_Type, &positions, &PyList_Type, &weights))
        return NULL;
    int P = (int)PyList_GET_SIZE(positions), G = (int)PyList_GET_SIZE(weights);
    Py_ssize_t total = 0, written = 0;
    for (Py_ssize_t part = 0; part < PyList_GET_SIZE(parts); part++) {
        PyObject *spec = PyList_GET_ITEM(parts, part);
        if (!PyTuple_Check(spec) || PyTuple_GET_SIZE(spec) != 4) {
            PyErr_SetString(PyExc_TypeError, "a part is (norm, eligible, tf_size, lists)");
            return NULL;
        }
        Py_buffer norm;
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(spec, 0), &norm, PyBUF_C_CONTIGUOUS) < 0) return NULL;
        total += norm.len / 8;
        PyBuffer_Release(&norm);
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, total * 4);
    int *pos_group = calloc((size_t)P + 1, sizeof(int)), *pos_token = calloc((size_t)P + 1, sizeof(int));
    float *group_weight = calloc((size_t)G + 1, sizeof(float));
    uint32_t *docs = NULL;
    double *sums = NULL;
    if (!out || !pos_group || !pos_token || !group_weight) {
        if (out) PyErr_NoMemory();
        goto fail;
    }
    for (int p = 0; p < P; p++) {
        if (!PyArg_ParseTuple(PyList_GET_ITEM(positions, p), "ii", &pos_group[p], &pos_token[p])) goto fail;
        if (pos_group[p] < 0 || pos_group[p] >= G || pos_token[p] < 0) {
            PyErr_SetString(PyExc_ValueError, "position out of range");
            goto fail;
        }
    }
    for (int g = 0; g < G; g++) group_weight[g] = (float)PyFloat_AsDouble(PyList_GET_ITEM(weights, g));
    if (PyErr_Occurred()) goto fail;
    float *scores = (float *)PyBytes_AS_STRING(out);
    for (Py_ssize_t part = 0; part < PyList_GET_SIZE(parts); part++) {
        PyObject *spec = PyList_GET_ITEM(parts, part), *lists = PyTuple_GET_ITEM(spec, 3);
        Py_buffer norm_b, eligible_b;
        int has_eligible = PyTuple_GET_ITEM(spec, 1) != Py_None;
        int tf_size = (int)PyLong_AsLong(PyTuple_GET_ITEM(spec, 2));
        if (PyErr_Occurred() || !PyList_Check(lists) || (tf_size != 1 && tf_size != 2 && tf_size != 4)) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "bad part");
            goto fail;
        }
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(spec, 0), &norm_b, PyBUF_C_CONTIGUOUS) < 0) goto fail;
        if (has_eligible && PyObject_GetBuffer(PyTuple_GET_ITEM(spec, 1), &eligible_b, PyBUF_C_CONTIGUOUS) < 0) {
            PyBuffer_Release(&norm_b);
            goto fail;
        }
        const double *norm = norm_b.buf;
        Py_ssize_t n_docs = norm_b.len / 8;
        const uint8_t *eligible = has_eligible ? eligible_b.buf : NULL;
        int ok = !has_eligible || eligible_b.len >= n_docs;
        free(sums);
        sums = calloc((size_t)(n_docs > 0 ? n_docs : 1) * (size_t)G, sizeof(double));
        if (!sums) PyErr_NoMemory();
        for (int p = 0; ok && sums && p < P; p++) {
            if (pos_token[p] >= PyList_GET_SIZE(lists)) {
                PyErr_SetString(PyExc_ValueError, "position token out of range");
                ok = 0;
                break;
            }
            PyObject *item = PyList_GET_ITEM(lists, pos_token[p]);
            if (item == Py_None) continue;
            PyObject *gaps_o, *tf_o, *idf_o;
            long long n;
            if (!PyArg_ParseTuple(item, "OOLO", &gaps_o, &tf_o, &n, &idf_o)) {
                ok = 0;
                break;
            }
            double idf = PyFloat_AsDouble(idf_o);
            Py_buffer gaps, tf;
            if (PyErr_Occurred() || PyObject_GetBuffer(gaps_o, &gaps, PyBUF_C_CONTIGUOUS) < 0) {
                ok = 0;
                break;
            }
            if (PyObject_GetBuffer(tf_o, &tf, PyBUF_C_CONTIGUOUS) < 0) {
                PyBuffer_Release(&gaps);
                ok = 0;
                break;
            }
            free(docs);
            docs = malloc(sizeof(uint32_t) * (size_t)(n > 0 ? n : 1));
            if (!docs || tf.len / tf_size < n || n > INT32_MAX ||
                decode_block(gaps.buf, gaps.len, (int)n, 0, docs) < 0 || (n > 0 && docs[n - 1] >= n_docs)) {
                if (docs) PyErr_SetString(PyExc_ValueError, "corrupt postings: run `hoptac reindex`");
                else PyErr_NoMemory();
                ok = 0;
            } else {
                double *group = sums + (size_t)pos_group[p] * (size_t)n_docs;
                for (long long i = 0; i < n; i++) {
                    uint32_t d = docs[i];
                    group[d] += term_of(tf_at(tf.buf, tf_size, i), idf, norm[d]);
                }
            }
            PyBuffer_Release(&gaps);
            PyBuffer_Release(&tf);
        }
        if (ok && sums) {
            for (Py_ssize_t d = 0; d < n_docs; d++) {
                float score = (float)sums[d];
                for (int g = 1; g < G; g++) {
                    float weighted = group_weight[g] * (float)sums[(size_t)g * (size_t)n_docs + (size_t)d];
                    score = score + weighted;
                }
                scores[written + d] = (eligible && !eligible[d]) ? 0.0f : score;
            }
            written += n_docs;
        }
        PyBuffer_Release(&norm_b);
        if (has_eligible) PyBuffer_Release(&eligible_b);
        if (!ok || !sums) goto fail;
    }
    free(docs);
    free(sums);
    free(pos_group);
    free(pos_token);
    free(group_weight);
    return out;
fail:
    Py_XDECREF(out);
    free(docs);
    free(sums);
    free(pos_group);
    free(pos_token);
    free(group_weight);
    return NULL;
}

static PyMethodDef methods[] = {
    {"build_blocks", build_blocks, METH_VARARGS, "The blocks of a chunk of long postings lists."},
    {"top_k", top_k, METH_VARARGS, "The k best documents by BM25, block-max MaxScore, document at a time."},
    {"lookup", lookup, METH_VARARGS, "The counts of some documents in one list."},
    {"all_scores", all_scores, METH_VARARGS, "Every passage's score, every posting read."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_bm25", "Block-max BM25, compiled.", -1, methods};

PyMODINIT_FUNC PyInit__bm25(void) { return PyModule_Create(&module); }
