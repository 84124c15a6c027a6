namespace Meerkat.Tests;
