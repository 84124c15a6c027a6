namespace Meerkat;

/// <summary>Work posted to the loop thread as itself, so posting allocates no delegate (see Manager.PostWork).</summary>
internal interface ILoopWorkItem
{
    /// <summary>Runs on the loop thread.</summary>
    void Run();
}
