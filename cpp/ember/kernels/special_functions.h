#pragma once
// Scalar special functions: the log-gamma function and the polygamma family
// (digamma, trigamma, higher orders through the Hurwitz zeta function).
//
// Note [Polygamma algorithms]
// digamma and trigamma follow the algorithms torch's CPU kernels use (reflection
// below 0 or 1/2, recurrence up to 10 or by six steps, then the asymptotic
// series), in the argument's own precision, so float results agree with
// torch's bit for bit in almost every case. Orders n >= 2 are
// (-1)^(n+1) n! zeta(n+1, x), with zeta summed by Euler-Maclaurin.

#include <cstdint>

namespace ember {

float lgamma_value(float x);
double lgamma_value(double x);

float digamma_value(float x);
double digamma_value(double x);

// polygamma(n, x) for n >= 0.
float polygamma_value(int64_t n, float x);
double polygamma_value(int64_t n, double x);

// The Hurwitz zeta function sum over k >= 0 of (k + q)^-s.
double hurwitz_zeta(double s, double q);

// e^{x^2} erfc(x), log of the standard normal CDF, and its inverse
// (normal_functions.cpp, Note [Normal-tail algorithms]).
double erfcx_value(double x);
double log_ndtr_value(double x);
double ndtri_value(double p);

// Modified Bessel functions of the first kind, plain and scaled by e^{-|x|},
// and sin(x) / x (bessel_functions.cpp, Note [Modified Bessel algorithms]).
double bessel_i0_value(double x);
double bessel_i0e_value(double x);
double bessel_i1_value(double x);
double bessel_i1e_value(double x);
double spherical_bessel_j0_value(double x);

// Bessel functions of the first and second kind, modified Bessel functions of
// the second kind (plain and scaled by e^x) and the Airy function Ai
// (bessel_jyk_functions.cpp, Note [Bessel J, Y, K and Airy algorithms]),
// in float for float as torch computes them.
double bessel_j0_value(double x);
float bessel_j0_value(float x);
double bessel_j1_value(double x);
float bessel_j1_value(float x);
double bessel_y0_value(double x);
float bessel_y0_value(float x);
double bessel_y1_value(double x);
float bessel_y1_value(float x);
double bessel_k0_value(double x);
float bessel_k0_value(float x);
double bessel_k1_value(double x);
float bessel_k1_value(float x);
double bessel_k0e_value(double x);
float bessel_k0e_value(float x);
double bessel_k1e_value(double x);
float bessel_k1e_value(float x);
double airy_ai_value(double x);
float airy_ai_value(float x);

}  // namespace ember
