using Akka.Actor;
using FaceSwap.Contracts.Placement;
using FaceSwap.Edge;
using Microsoft.Extensions.Logging;

namespace FaceSwap.Node;

/// <summary>What a stream does when the farm lacks the capacity for it.</summary>
public enum AdmissionMode
{
    /// <summary>Fail the stream with the coordinator's reason (a farm with no worker serving yet is waited for, up to the admission wait).</summary>
    Refuse,
    /// <summary>Ask again every second until admitted or the wait runs out.</summary>
    Queue,
    /// <summary>Skip the check (a farm that is never shared).</summary>
    Off,
}

/// <summary>An edge asks the placement coordinator before a stream starts, and gives its share back when it ends.</summary>
public static class FarmAdmission
{
    /// <param name="wait">how long a queued stream waits for capacity, and any stream for a first worker while the farm starts</param>
    /// <exception cref="StreamRefusedException">refused (after waiting, when queueing): the message is the coordinator's reason</exception>
    public static async Task<Admission?> Admit(IActorRef coordinator, string streamId, double framesPerSecond, string edge, AdmissionMode mode,
        TimeSpan wait, ILogger logger, CancellationToken cancel = default)
    {
        if (mode == AdmissionMode.Off) return null;
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            Admission answer;
            try
            {
                answer = await coordinator.Ask<Admission>(new AdmitStream(streamId, framesPerSecond, edge), TimeSpan.FromSeconds(10), cancel);
            }
            catch (AskTimeoutException e)
            {
                throw new StreamRefusedException($"stream {streamId}: the placement coordinator did not answer the admission within 10 s ({e.Message})", transient: true);
            }
            if (answer.Admitted)
            {
                logger.LogInformation("stream {Stream} admitted at {Fps:0.#} fps ({Admitted:0.#} of {Capacity:0.#} fps admitted)", streamId, framesPerSecond, answer.AdmittedFps, answer.CapacityFps);
                return answer;
            }
            // No worker serving at all is a farm still starting (or restarting), not a farm that is full: that waits in every mode.
            var starting = answer.CapacityFps <= 0;
            if ((mode == AdmissionMode.Refuse && !starting) || DateTime.UtcNow >= deadline)
                throw new StreamRefusedException($"stream {streamId} refused: {answer.Reason}", transient: true);
            logger.LogInformation("stream {Stream} {State}: {Reason}", streamId, starting ? "waits for a worker" : "queued for capacity", answer.Reason);
            await Task.Delay(TimeSpan.FromSeconds(starting ? 0.5 : 1), cancel);
        }
    }

    public static void Release(IActorRef coordinator, string streamId) => coordinator.Tell(new ReleaseStream(streamId));
}
