// Bessel functions of the first and second kind (J0, J1, Y0, Y1), modified
// Bessel functions of the second kind (K0, K1, plain and scaled by e^x) and
// the Airy function Ai (Note [Bessel J, Y, K and Airy algorithms]).

#include <array>
#include <cmath>
#include <cstddef>
#include <limits>

#include "ember/kernels/special_functions.h"

namespace ember {

namespace {

// Note [Bessel J, Y, K and Airy algorithms]
// torch evaluates these with the rational and Chebyshev approximations of
// the Cephes library; Ember evaluates the same approximations (their
// coefficients are mathematical constants) in the same order of operations,
// so results agree with torch's bit for bit almost everywhere (float32 K0 can
// be 2 ulps off), including where an approximation itself is poor: at large |x| the phase
// x - pi/4 is rounded in double before cos and sin, as torch rounds it, and
// the values at the edges (Y0(-1) = NaN, K0(0) = inf, Ai(+-inf) = NaN) are
// torch's. Like torch, float32 computes in float (coefficients rounded to
// float): in double, cos(x - pi/4) at a large float32 x would be a different
// number from torch's, whose phase rounds to x itself. Horner steps and the
// final combinations are fused multiply-adds where torch's compiled kernels
// fuse them, which near the functions' zeros decides tens of ulps.
//
// J and Y: below |x| = 5, J_nu is a rational function of x^2 with its first
// two zeros factored out, and Y_nu the rational part plus (2/pi) log(x) J_nu
// (minus 2/(pi x) for nu = 1). Above, both follow the Hankel form
// sqrt(2/(pi x)) (P cos(phase) -+ (5/x) Q sin(phase)) with P and Q rational
// in 25/x^2. K: a Chebyshev series in x^2 - 2 with the log(x/2) I_nu term
// below x = 2, and e^-x/sqrt(x) times a Chebyshev series in 8/x - 2 above.
// Ai: its Maclaurin series on (-2.09, 2.09), the asymptotic forms outside.

using Coefficients8 = std::array<double, 8>;

constexpr double kQuarterPi = 0.785398163397448309615660845819875721;
constexpr double kThreeQuarterPi = 2.356194490192344928846982537459627163;
constexpr double kSqrtTwoOverPi = 0.797884560802865355879892119868763737;
constexpr double kTwoOverPi = 0.636619772367581343075535053490057448;
constexpr double kInvSqrtPi = 5.64189583547756286948e-01;

// The polynomial with coefficients `c` (highest degree first) at t, by
// Horner's rule with fused multiply-adds: torch's kernels are compiled with
// contraction, and near the functions' zeros, where the value is a difference
// of larger terms, unfused steps would land tens of ulps from torch's.
// The coefficients round to T first, as torch's tables of T do.
template <typename T, std::size_t N>
T polynomial(const std::array<double, N>& c, T t) {
  T sum = 0;
  for (double coefficient : c) sum = std::fma(sum, t, static_cast<T>(coefficient));
  return sum;
}

// Half the Clenshaw sum b0 - b2 of a Chebyshev series (coefficients of the
// highest order first) at t, where t is twice the Chebyshev variable: the
// form the K0 and K1 coefficients are tabulated for.
template <typename T, std::size_t N>
T chebyshev_series(const std::array<double, N>& c, T t) {
  T b0 = static_cast<T>(c[0]), b1 = 0, b2 = 0;
  for (std::size_t i = 1; i < N; ++i) {
    b2 = b1;
    b1 = b0;
    b0 = std::fma(t, b1, -b2) + static_cast<T>(c[i]);
  }
  return T(0.5) * (b0 - b2);
}

// ---- J0 and Y0 ----

// The Hankel-form P and Q of order 0, rational in 25/x^2.
constexpr std::array<double, 7> kP0Num = {7.96936729297347051624e-04, 8.28352392107440799803e-02,
                                          1.23953371646414299388e+00, 5.44725003058768775090e+00,
                                          8.74716500199817011941e+00, 5.30324038235394892183e+00,
                                          9.99999999999999997821e-01};
constexpr std::array<double, 7> kP0Den = {9.24408810558863637013e-04, 8.56288474354474431428e-02,
                                          1.25352743901058953537e+00, 5.47097740330417105182e+00,
                                          8.76190883237069594232e+00, 5.30605288235394617618e+00,
                                          1.00000000000000000218e+00};
constexpr Coefficients8 kQ0Num = {-1.13663838898469149931e-02, -1.28252718670509318512e+00,
                                  -1.95539544257735972385e+01, -9.32060152123768231369e+01,
                                  -1.77681167980488050595e+02, -1.47077505154951170175e+02,
                                  -5.14105326766599330220e+01, -6.05014350600728481186e+00};
constexpr std::array<double, 7> kQ0Den = {6.43178256118178023184e+01, 8.56430025976980587198e+02,
                                          3.88240183605401609683e+03, 7.24046774195652478189e+03,
                                          5.93072701187316984827e+03, 2.06209331660327847417e+03,
                                          2.42005740240291393179e+02};

// J0 below 5: (x^2 - j_{0,1}^2)(x^2 - j_{0,2}^2) R(x^2).
constexpr std::array<double, 4> kJ0Num = {-4.79443220978201773821e+09, 1.95617491946556577543e+12,
                                          -2.49248344360967716204e+14, 9.70862251047306323952e+15};
constexpr Coefficients8 kJ0Den = {4.99563147152651017219e+02, 1.73785401676374683123e+05,
                                  4.84409658339962045305e+07, 1.11855537045356834862e+10,
                                  2.11277520115489217587e+12, 3.10518229857422583814e+14,
                                  3.18121955943204943306e+16, 1.71086294081043136091e+18};
constexpr double kJ0FirstZeroSquared = 5.78318596294678452118e+00;
constexpr double kJ0SecondZeroSquared = 3.04712623436620863991e+01;

// Y0 below 5: the part besides (2/pi) log(x) J0(x).
constexpr Coefficients8 kY0Num = {1.55924367855235737965e+04, -1.46639295903971606143e+07,
                                  5.43526477051876500413e+09, -9.82136065717911466409e+11,
                                  8.75906394395366999549e+13, -3.46628303384729719441e+15,
                                  4.42733268572569800351e+16, -1.84950800436986690637e+16};
constexpr std::array<double, 7> kY0Den = {1.04128353664259848412e+03, 6.26107330137134956842e+05,
                                          2.68919633393814121987e+08, 8.64002487103935000337e+10,
                                          2.02979612750105546709e+13, 3.17157752842975028269e+15,
                                          2.50596256172653059228e+17};

// The Hankel form's amplitudes at |x| > 5 (the same for J_nu and Y_nu).
template <typename T>
struct Hankel {
  T p, q;  // q carries its factor 5/x
};

template <typename T>
Hankel<T> hankel_order0(T x) {
  const T w = T(25) / (x * x);
  return {polynomial(kP0Num, w) / polynomial(kP0Den, w),
          T(5) / x * (polynomial(kQ0Num, w) / polynomial(kQ0Den, w))};
}

// sqrt(2 / (pi x)) (p cos(x - shift) - q sin(x - shift)), J's form past 5.
template <typename T>
T hankel_j(const Hankel<T>& h, T x, double shift) {
  const T phase = x - T(shift);
  return std::fma(h.p, std::cos(phase), -(h.q * std::sin(phase))) * T(kSqrtTwoOverPi) /
         std::sqrt(x);
}

// sqrt(2 / (pi x)) (p sin(x - shift) + q cos(x - shift)), Y's form past 5.
template <typename T>
T hankel_y(const Hankel<T>& h, T x, double shift) {
  const T phase = x - T(shift);
  return std::fma(h.p, std::sin(phase), h.q * std::cos(phase)) * T(kSqrtTwoOverPi) / std::sqrt(x);
}

template <typename T>
T j0_nonnegative(T x) {
  if (x <= T(5)) {
    const T z = x * x;
    if (x < T(1e-5)) return T(1) - z / T(4);  // the series' first two terms are exact here
    return (z - T(kJ0FirstZeroSquared)) * (z - T(kJ0SecondZeroSquared)) * polynomial(kJ0Num, z) /
           polynomial(kJ0Den, z);
  }
  return hankel_j(hankel_order0(x), x, kQuarterPi);
}

// ---- J1 and Y1 ----

constexpr std::array<double, 7> kP1Num = {7.62125616208173112003e-04, 7.31397056940917570436e-02,
                                          1.12719608129684925192e+00, 5.11207951146807644818e+00,
                                          8.42404590141772420927e+00, 5.21451598682361504063e+00,
                                          1.00000000000000000254e+00};
constexpr std::array<double, 7> kP1Den = {5.71323128072548699714e-04, 6.88455908754495404082e-02,
                                          1.10514232634061696926e+00, 5.07386386128601488557e+00,
                                          8.39985554327604159757e+00, 5.20982848682361821619e+00,
                                          9.99999999999999997461e-01};
constexpr Coefficients8 kQ1Num = {5.10862594750176621635e-02, 4.98213872951233449420e+00,
                                  7.58238284132545283818e+01, 3.66779609360150777800e+02,
                                  7.10856304998926107277e+02, 5.97489612400613639965e+02,
                                  2.11688757100572135698e+02, 2.52070205858023719784e+01};
constexpr std::array<double, 7> kQ1Den = {7.42373277035675149943e+01, 1.05644886038262816351e+03,
                                          4.98641058337653607651e+03, 9.56231892404756170795e+03,
                                          7.99704160447350683650e+03, 2.82619278517639096600e+03,
                                          3.36093607810698293419e+02};

// J1 below 5: x (x^2 - j_{1,1}^2)(x^2 - j_{1,2}^2) R(x^2).
constexpr std::array<double, 4> kJ1Num = {-8.99971225705559398224e+08, 4.52228297998194034323e+11,
                                          -7.27494245221818276015e+13, 3.68295732863852883286e+15};
constexpr Coefficients8 kJ1Den = {6.20836478118054335476e+02, 2.56987256757748830383e+05,
                                  8.35146791431949253037e+07, 2.21511595479792499675e+10,
                                  4.74914122079991414898e+12, 7.84369607876235854894e+14,
                                  8.95222336184627338078e+16, 5.32278620332680085395e+18};
constexpr double kJ1FirstZeroSquared = 1.46819706421238932572e+01;
constexpr double kJ1SecondZeroSquared = 4.92184563216946036703e+01;

// Y1 below 5: the part besides (2/pi) (log(x) J1(x) - 1/x), over x.
constexpr std::array<double, 6> kY1Num = {1.26320474790178026440e+09, -6.47355876379160291031e+11,
                                          1.14509511541823727583e+14, -8.12770255501325109621e+15,
                                          2.02439475713594898196e+17, -7.78877196265950026825e+17};
constexpr Coefficients8 kY1Den = {5.94301592346128195359e+02, 2.35564092943068577943e+05,
                                  7.34811944459721705660e+07, 1.87601316108706159478e+10,
                                  3.88231277496238566008e+12, 6.20557727146953693363e+14,
                                  6.87141087355300489866e+16, 3.97270608116560655612e+18};

template <typename T>
Hankel<T> hankel_order1(T x) {
  const T w = T(5) / x * (T(5) / x);
  return {polynomial(kP1Num, w) / polynomial(kP1Den, w),
          T(5) / x * (polynomial(kQ1Num, w) / polynomial(kQ1Den, w))};
}

template <typename T>
T j1_nonnegative(T x) {
  if (x <= T(5)) {
    const T z = x * x;
    return polynomial(kJ1Num, z) / polynomial(kJ1Den, z) * x * (z - T(kJ1FirstZeroSquared)) *
           (z - T(kJ1SecondZeroSquared));
  }
  return hankel_j(hankel_order1(x), x, kThreeQuarterPi);
}

// Y0 and Y1 at x <= 5: -inf at 0, NaN below (Y is complex there).
template <typename T>
bool second_kind_edge(T x, T* value) {
  if (x == T(0)) {
    *value = -std::numeric_limits<T>::infinity();
    return true;
  }
  if (x < T(0)) {
    *value = std::numeric_limits<T>::quiet_NaN();
    return true;
  }
  return false;
}

// ---- K0 and K1 ----

// Chebyshev coefficients in x^2 - 2 on (0, 2]: K0 + log(x/2) I0, and x K1 - x log(x/2) I1.
constexpr std::array<double, 10> kK0Small = {
    1.37446543561352307156e-16, 4.25981614279661018399e-14, 1.03496952576338420167e-11,
    1.90451637722020886025e-09, 2.53479107902614945675e-07, 2.28621210311945178607e-05,
    1.26461541144692592338e-03, 3.59799365153615016266e-02, 3.44289899924628486886e-01,
    -5.35327393233902768720e-01};
constexpr std::array<double, 11> kK1Small = {
    -7.02386347938628759343e-18, -2.42744985051936593393e-15, -6.66690169419932900609e-13,
    -1.41148839263352776110e-10, -2.21338763073472585583e-08, -2.43340614156596823496e-06,
    -1.73028895751305206302e-04, -6.97572385963986435018e-03, -1.22611180822657148235e-01,
    -3.53155960776544875667e-01, 1.52530022733894777053e+00};

// Chebyshev coefficients in 8/x - 2 on (2, inf): sqrt(x) e^x K_nu(x).
constexpr std::array<double, 25> kK0Large = {
    5.30043377268626276149e-18,  -1.64758043015242134646e-17, 5.21039150503902756861e-17,
    -1.67823109680541210385e-16, 5.51205597852431940784e-16,  -1.84859337734377901440e-15,
    6.34007647740507060557e-15,  -2.22751332699166985548e-14, 8.03289077536357521100e-14,
    -2.98009692317273043925e-13, 1.14034058820847496303e-12,  -4.51459788337394416547e-12,
    1.85594911495471785253e-11,  -7.95748924447710747776e-11, 3.57739728140030116597e-10,
    -1.69753450938905987466e-09, 8.57403401741422608519e-09,  -4.66048989768794782956e-08,
    2.76681363944501510342e-07,  -1.83175552271911948767e-06, 1.39498137188764993662e-05,
    -1.28495495816278026384e-04, 1.56988388573005337491e-03,  -3.14481013119645005427e-02,
    2.44030308206595545468e+00};
constexpr std::array<double, 25> kK1Large = {
    -5.75674448366501715755e-18, 1.79405087314755922667e-17,  -5.68946255844285935196e-17,
    1.83809354436663880070e-16,  -6.05704724837331885336e-16, 2.03870316562433424052e-15,
    -7.01983709041831346144e-15, 2.47715442448130437068e-14,  -8.97670518232499435011e-14,
    3.34841966607842919884e-13,  -1.28917396095102890680e-12, 5.13963967348173025100e-12,
    -2.12996783842756842877e-11, 9.21831518760500529508e-11,  -4.19035475934189648750e-10,
    2.01504975519703286596e-09,  -1.03457624656780970260e-08, 5.74108412545004946722e-08,
    -3.50196060308781257119e-07, 2.40648494783721712015e-06,  -1.93619797416608296024e-05,
    1.95215518471351631108e-04,  -2.85781685962277938680e-03, 1.03923736576817238437e-01,
    2.72062619048444266945e+00};

// K_nu at 0 is +inf and below 0 NaN (K is complex there).
template <typename T>
bool modified_second_kind_edge(T x, T* value) {
  if (x == T(0)) {
    *value = std::numeric_limits<T>::infinity();
    return true;
  }
  if (x < T(0)) {
    *value = std::numeric_limits<T>::quiet_NaN();
    return true;
  }
  return false;
}

// Chebyshev coefficients in x/2 - 2 on [0, 8]: e^-x I0(x) and e^-x I1(x) / x.
// K's small-x forms take I0 and I1 from these, as torch's do: K0 there is a
// difference of terms near 0.5, which passes I0's last-ulp differences on
// magnified.
constexpr std::array<double, 30> kI0Small = {
    -4.41534164647933937950e-18, 3.33079451882223809783e-17,  -2.43127984654795469359e-16,
    1.71539128555513303061e-15,  -1.16853328779934516808e-14, 7.67618549860493561688e-14,
    -4.85644678311192946090e-13, 2.95505266312963983461e-12,  -1.72682629144155570723e-11,
    9.67580903537323691224e-11,  -5.18979560163526290666e-10, 2.65982372468238665035e-09,
    -1.30002500998624804212e-08, 6.04699502254191894932e-08,  -2.67079385394061173391e-07,
    1.11738753912010371815e-06,  -4.41673835845875056359e-06, 1.64484480707288970893e-05,
    -5.75419501008210370398e-05, 1.88502885095841655729e-04,  -5.76375574538582365885e-04,
    1.63947561694133579842e-03,  -4.32430999505057594430e-03, 1.05464603945949983183e-02,
    -2.37374148058994688156e-02, 4.93052842396707084878e-02,  -9.49010970480476444210e-02,
    1.71620901522208775349e-01,  -3.04682672343198398683e-01, 6.76795274409476084995e-01};
constexpr std::array<double, 29> kI1Small = {
    2.77791411276104639959e-18,  -2.11142121435816608115e-17, 1.55363195773620046921e-16,
    -1.10559694773538630805e-15, 7.60068429473540693410e-15,  -5.04218550472791168711e-14,
    3.22379336594557470981e-13,  -1.98397439776494371520e-12, 1.17361862988909016308e-11,
    -6.66348972350202774223e-11, 3.62559028155211703701e-10,  -1.88724975172282928790e-09,
    9.38153738649577178388e-09,  -4.44505912879632808065e-08, 2.00329475355213526229e-07,
    -8.56872026469545474066e-07, 3.47025130813767847674e-06,  -1.32731636560394358279e-05,
    4.78156510755005422638e-05,  -1.61760815825896745588e-04, 5.12285956168575772895e-04,
    -1.51357245063125314899e-03, 4.15642294431288815669e-03,  -1.05640848946261981558e-02,
    2.47264490306265168283e-02,  -5.29459812080949914269e-02, 1.02643658689847095384e-01,
    -1.76416518357834055153e-01, 2.52587186443633654823e-01};

template <typename T>
T bessel_i0_small(T x) {
  return std::exp(x) * chebyshev_series(kI0Small, x / T(2) - T(2));
}
template <typename T>
T bessel_i1_small(T x) {
  return chebyshev_series(kI1Small, x / T(2) - T(2)) * x * std::exp(x);
}

// K0(x) at 0 < x <= 2. torch halves x in double for the unscaled K0 (a
// double literal there) and in T for the scaled one; in float the two differ
// only where half of a denormal x rounds (to 0 at the smallest: K0 103.39, not
// inf), so only there is the half taken in double.
template <typename T>
T k0_small(T x, bool half_in_double) {
  const bool rounds = half_in_double && x < T(2) * std::numeric_limits<T>::min();
  const T log_half =
      rounds ? static_cast<T>(std::log(0.5 * static_cast<double>(x))) : std::log(T(0.5) * x);
  return std::fma(-log_half, bessel_i0_small(x), chebyshev_series(kK0Small, std::fma(x, x, T(-2))));
}

// K1(x) at 0 < x <= 2, unscaled.
template <typename T>
T k1_small(T x) {
  return std::fma(std::log(T(0.5) * x), bessel_i1_small(x),
                  chebyshev_series(kK1Small, std::fma(x, x, T(-2))) / x);
}

// K_nu(x) (scaled: e^x K_nu(x)) for nu in {0, 1}.
template <typename T>
T bessel_k(int nu, T x, bool scaled) {
  T edge = 0;
  if (modified_second_kind_edge(x, &edge)) return edge;
  if (x <= T(2)) {
    const T value = nu == 0 ? k0_small(x, !scaled) : k1_small(x);
    return scaled ? value * std::exp(x) : value;
  }
  const T t = T(8) / x - T(2);
  const T series = nu == 0 ? chebyshev_series(kK0Large, t) : chebyshev_series(kK1Large, t);
  if (scaled) return series / std::sqrt(x);
  return std::exp(-x) * series / std::sqrt(x);
}

// ---- Airy Ai ----

// Ai at x >= 2.09: e^-zeta / (2 sqrt(pi) x^(1/4)) times a rational function of 1/zeta.
constexpr Coefficients8 kAiryLargeNum = {3.46538101525629032477e-01, 1.20075952739645805542e+01,
                                         7.62796053615234516538e+01, 1.68089224934630576269e+02,
                                         1.59756391350164413639e+02, 7.05360906840444183113e+01,
                                         1.40264691163389668864e+01, 9.99999999999999995305e-01};
constexpr Coefficients8 kAiryLargeDen = {5.67594532638770212846e-01, 1.47562562584847203173e+01,
                                         8.45138970141474626562e+01, 1.77318088145400459522e+02,
                                         1.64234692871529701831e+02, 7.14778400825575695274e+01,
                                         1.40959135607834029598e+01, 1.00000000000000000470e+00};

// Ai at x < -2.09: the amplitudes of sin and cos of zeta + pi/4, rational in 1/zeta^2.
constexpr std::array<double, 9> kAiryFNum = {
    -1.31696323418331795333e-01, -6.26456544431912369773e-01, -6.93158036036933542233e-01,
    -2.79779981545119124951e-01, -4.91900132609500318020e-02, -4.06265923594885404393e-03,
    -1.59276496239262096340e-04, -2.77649108155232920844e-06, -1.67787698489114633780e-08};
constexpr std::array<double, 9> kAiryFDen = {
    1.33560420706553243746e+01, 3.26825032795224613948e+01, 2.67367040941499554804e+01,
    9.18707402907259625840e+00, 1.47529146771666414581e+00, 1.15687173795188044134e-01,
    4.40291641615211203805e-03, 7.54720348287414296618e-05, 4.51850092970580378464e-07};
constexpr std::array<double, 11> kAiryGNum = {
    1.97339932091685679179e-02, 3.91103029615688277255e-01, 1.06579897599595591108e+00,
    9.39169229816650230044e-01, 3.51465656105547619242e-01, 6.33888919628925490927e-02,
    5.85804113048388458567e-03, 2.82851600836737019778e-04, 6.98793669997260967291e-06,
    8.11789239554389293311e-08, 3.41551784765923618484e-10};
constexpr std::array<double, 10> kAiryGDen = {
    9.30892908077441974853e+00, 1.98352928718312140417e+01, 1.55646628932864612953e+01,
    5.47686069422975497931e+00, 9.54293611618961883998e-01, 8.64580826352392193095e-02,
    4.12656523824222607191e-03, 1.01259085116509135510e-04, 1.17166733214413521882e-06,
    4.91834570062930015649e-09};

constexpr double kAiryOscillatingBelow = -2.09;
constexpr double kAiryDecayingFrom = 2.09;
constexpr double kAiryUnderflowsAbove = 103.892;  // Ai(x) < the least denormal
// Ai(0) and -Ai'(0): the Maclaurin series' weights on its two parts.
constexpr double kAiryAtZero = 0.355028053887817239260;
constexpr double kAirySlopeAtZero = 0.258819403792806798405;

template <typename T>
T airy_oscillating(T x) {
  const T zeta = T(-2) * x * std::sqrt(-x) / T(3);
  const T z = T(1) / zeta;
  const T zz = z * z;
  const T f = zz * polynomial(kAiryFNum, zz) / polynomial(kAiryFDen, zz);
  const T g = z * polynomial(kAiryGNum, zz) / polynomial(kAiryGDen, zz);
  const T phase = zeta + T(kQuarterPi);
  return T(kInvSqrtPi) / std::sqrt(std::sqrt(-x)) *
         std::fma(std::sin(phase), T(1) + f, -(std::cos(phase) * g));
}

template <typename T>
T airy_decaying(T x) {
  const T zeta = T(2) * x * std::sqrt(x) / T(3);
  const T t = T(1) / zeta;
  const T ratio = polynomial(kAiryLargeNum, t) / polynomial(kAiryLargeDen, t);
  return T(kInvSqrtPi) * ratio / (T(2) * std::sqrt(std::sqrt(x)) * std::exp(zeta));
}

// Ai(x) = Ai(0) f(x) + Ai'(0) g(x), f and g the power series in x^3
// 1 + x^3/3! + 1*4 x^6/6! + ... and x + 2 x^4/4! + 2*5 x^7/7! + ...,
// summed until f's terms fall below T's epsilon.
template <typename T>
T airy_maclaurin(T x) {
  const T cube = x * x * x;
  T f = 1, g = x, k = 1;
  T f_term = 1, g_term = x;
  T change = 1;
  while (change > std::numeric_limits<T>::epsilon()) {
    f_term *= cube;
    k += T(1);
    f_term /= k;
    g_term *= cube;
    k += T(1);
    g_term /= k;
    f_term /= k;
    f += f_term;
    k += T(1);
    g_term /= k;
    g += g_term;
    change = std::abs(f_term / f);
  }
  return std::fma(T(kAiryAtZero), f, -(T(kAirySlopeAtZero) * g));
}

template <typename T>
T bessel_y0(T x) {
  if (x <= T(5)) {
    T edge = 0;
    if (second_kind_edge(x, &edge)) return edge;
    const T z = x * x;
    return std::fma(T(kTwoOverPi) * std::log(x), j0_nonnegative(x),
                    polynomial(kY0Num, z) / polynomial(kY0Den, z));
  }
  return hankel_y(hankel_order0(x), x, kQuarterPi);
}

template <typename T>
T bessel_y1(T x) {
  if (x <= T(5)) {
    T edge = 0;
    if (second_kind_edge(x, &edge)) return edge;
    const T z = x * x;
    const T log_part = std::fma(j1_nonnegative(x), std::log(x), -(T(1) / x));
    return std::fma(x, polynomial(kY1Num, z) / polynomial(kY1Den, z), T(kTwoOverPi) * log_part);
  }
  return hankel_y(hankel_order1(x), x, kThreeQuarterPi);
}

template <typename T>
T airy_ai(T x) {
  // torch's Ai is NaN at both infinities (the asymptotic forms' 0 * inf and sin(inf))
  if (std::isinf(x)) return std::numeric_limits<T>::quiet_NaN();
  if (x > T(kAiryUnderflowsAbove)) return 0;
  if (x < T(kAiryOscillatingBelow)) return airy_oscillating(x);
  if (x >= T(kAiryDecayingFrom)) return airy_decaying(x);
  return airy_maclaurin(x);
}

}  // namespace

double bessel_j0_value(double x) { return j0_nonnegative(std::abs(x)); }
float bessel_j0_value(float x) { return j0_nonnegative(std::abs(x)); }
double bessel_j1_value(double x) { return x < 0 ? -j1_nonnegative(-x) : j1_nonnegative(x); }
float bessel_j1_value(float x) { return x < 0 ? -j1_nonnegative(-x) : j1_nonnegative(x); }
double bessel_y0_value(double x) { return bessel_y0(x); }
float bessel_y0_value(float x) { return bessel_y0(x); }
double bessel_y1_value(double x) { return bessel_y1(x); }
float bessel_y1_value(float x) { return bessel_y1(x); }
double bessel_k0_value(double x) { return bessel_k(0, x, false); }
float bessel_k0_value(float x) { return bessel_k(0, x, false); }
double bessel_k1_value(double x) { return bessel_k(1, x, false); }
float bessel_k1_value(float x) { return bessel_k(1, x, false); }
double bessel_k0e_value(double x) { return bessel_k(0, x, true); }
float bessel_k0e_value(float x) { return bessel_k(0, x, true); }
double bessel_k1e_value(double x) { return bessel_k(1, x, true); }
float bessel_k1e_value(float x) { return bessel_k(1, x, true); }
double airy_ai_value(double x) { return airy_ai(x); }
float airy_ai_value(float x) { return airy_ai(x); }

}  // namespace ember
