// tanh as one rational function (included where kernels say `//! include _tanh.wgsl`; every
// kernel that includes _texel.wgsl includes it too, for act()), so every adapter and every kernel
// computes the same activation: the builtin's accuracy depends on the driver (llvmpipe returned
// 2.98e-8 for tanh(1e-30), SwiftShader 0). x P(x^2) / Q(x^2), as Eigen's and XNNPACK's fast tanh,
// with our own coefficients: P of degree 6 and Q of degree 3, fitted for least maximum relative
// error on [0, 9] (iteratively reweighted least squares; Q >= 1 there, so no poles). In f32 with
// fma, against float64's tanh: at most 2.9e-7 relative error; past |x| = 9, tanh is 1 within f32.
// Ten multiply-adds and a division (on llvmpipe a little cheaper than the builtin's lowering).

fn tanh4(v: vec4f) -> vec4f {
  let x = clamp(v, vec4f(-9.0), vec4f(9.0));
  let s = x * x;
  var n = fma(s, vec4f(-8.488764297607046e-14), vec4f(5.277980136275673e-11));
  n = fma(s, n, vec4f(-2.0225318309030627e-08));
  n = fma(s, n, vec4f(1.1154336789331865e-05));
  n = fma(s, n, vec4f(0.003103959374129772));
  n = fma(s, n, vec4f(0.13084013760089874));
  n = fma(s, n, vec4f(1.0));
  var d = fma(s, vec4f(0.0002546149480622262), vec4f(0.024495191872119904));
  d = fma(s, d, vec4f(0.46417340636253357));
  d = fma(s, d, vec4f(1.0));
  return x * n / d;
}

fn tanh1(v: f32) -> f32 {
  return tanh4(vec4f(v)).x;
}
