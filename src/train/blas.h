// Row-major single-precision GEMM over the BLAS LibTorch itself links (libblas.so.3: OpenBLAS
// when installed, `recpress doctor` names it), for the native training steps that call it
// without LibTorch's per-op dispatch.
#pragma once

extern "C" void sgemm_(const char* transa, const char* transb, const int* m, const int* n,
                       const int* k, const float* alpha, const float* a, const int* lda,
                       const float* b, const int* ldb, const float* beta, float* c, const int* ldc);

namespace recpress {

// C[M, N] = alpha op(A) op(B) + beta C, all row-major with leading dimensions lda, ldb, ldc. A
// row-major matrix is its column-major transpose, so this is BLAS's C^T = op(B)^T op(A)^T.
inline void gemm_rows(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                      int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  sgemm_(trans_b ? "T" : "N", trans_a ? "T" : "N", &n, &m, &k, &alpha, b, &ldb, a, &lda, &beta, c,
         &ldc);
}

}  // namespace recpress
